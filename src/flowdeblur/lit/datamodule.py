"""DataModule over data-set factories built from the ``data`` config group."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from flowdeblur.data.indexed import IndexedErrors

DatasetFactory = Callable[[], Dataset]


class DataModule(pl.LightningDataModule):
    """Train/val/test loaders; data sets are built lazily in :meth:`setup`.

    ``batch_size`` is per device (per process under DDP). Lightning adds a distributed sampler under DDP;
    evaluation stays exact because the metrics drop the sampler's padded duplicates (see
    :mod:`flowdeblur.metrics.clip_average`). Data sets with ``set_epoch(epoch)`` get the epoch before each training
    epoch (see :class:`~flowdeblur.callbacks.epoch.DatasetEpoch`), so synthetic training samples change every epoch.

    Every data set is wrapped in :class:`~flowdeblur.data.indexed.IndexedErrors`: a failing sample names its split
    and index, also from inside a loader worker.

    Args:
        train, val, test: zero-argument data-set factories (Hydra ``_partial_``), or None where a split is absent.
        batch_size: training batch size per device.
        eval_batch_size: validation/test batch size per device (defaults to ``batch_size``).
        num_workers: loader worker processes.
        seed: the training loader shuffles with its own generator seeded from it (the same clip order for every
            variant at one seed, whatever the model consumed from the global generator); None: the global one.
    """

    def __init__(
        self,
        train: DatasetFactory | None,
        val: DatasetFactory | None,
        test: DatasetFactory | None = None,
        batch_size: int = 4,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size: expected a positive integer, got {batch_size}")
        self.factories = {"train": train, "val": val, "test": test}
        self.datasets: dict[str, Dataset] = {}
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.seed = seed

    def setup(self, stage: str | None = None) -> None:
        for split, factory in self.factories.items():
            if factory is not None and split not in self.datasets:
                self.datasets[split] = IndexedErrors(factory(), split)

    def dataset(self, split: str) -> Dataset:
        """The built data set of ``split``; a clear error if the config has none."""
        self.setup()
        if split not in self.datasets:
            raise ValueError(f"data.{split}: this data config defines no '{split}' split")
        return self.datasets[split]

    def _loader(self, split: str, shuffle: bool, batch_size: int) -> DataLoader:
        return DataLoader(
            self.dataset(split),
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            drop_last=shuffle,
            persistent_workers=False,
            generator=torch.Generator().manual_seed(self.seed) if shuffle and self.seed is not None else None,
        )

    def eval_loader(self, split: str) -> DataLoader:
        """An unshuffled evaluation loader over any split (e.g. ``eval split=train``)."""
        return self._loader(split, False, self.eval_batch_size)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader("test")
