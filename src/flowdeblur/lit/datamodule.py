"""DataModule over data-set factories built from the ``data`` config group."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from flowdeblur.data.device_stream import DrawnCollate, SceneDraws, base_clips, render_batch, renders_on_device
from flowdeblur.data.indexed import IndexedErrors

DatasetFactory = Callable[[], Dataset]
RENDER_ON = ("auto", "cpu", "device")


def loader_workers(setting: int | str, processes: int = 1) -> int:
    """``data.num_workers`` as a count: an int as is; ``auto`` one loader process per core left to each of the
    ``processes`` training processes on this node, at least 1 and at most 8."""
    if isinstance(setting, int):
        return setting
    if setting != "auto":
        raise ValueError(f"data.num_workers: expected an integer >= 0 or 'auto', got '{setting}'")
    return max(1, min(8, len(os.sched_getaffinity(0)) // max(1, processes) - 1))


class DataModule(pl.LightningDataModule):
    """Train/val/test loaders; data sets are built lazily in :meth:`setup`.

    ``batch_size`` is per device (per process under DDP). Lightning adds a distributed sampler under DDP;
    evaluation stays exact because the metrics drop the sampler's padded duplicates (see
    :mod:`flowdeblur.metrics.clip_average`). Data sets with ``set_epoch(epoch)`` get the epoch before each training
    epoch (see :class:`~flowdeblur.callbacks.epoch.DatasetEpoch`), so synthetic training samples change every epoch.

    Every data set is wrapped in :class:`~flowdeblur.data.indexed.IndexedErrors`: a failing sample names its split
    and index, also from inside a loader worker.

    Synthetic training clips can be rendered on the training device (:mod:`flowdeblur.data.device_stream`): the
    workers draw the scenes, the batch is rendered where it lands. Loaders pin their batches when the trainer's
    device is a GPU, and keep their workers between epochs unless the data set changes with the epoch
    (``set_epoch`` reaches the workers only when they are started anew).

    Args:
        train, val, test: zero-argument data-set factories (Hydra ``_partial_``), or None where a split is absent.
        batch_size: training batch size per device.
        eval_batch_size: validation/test batch size per device (defaults to ``batch_size``).
        num_workers: loader worker processes, or ``auto``: one per CPU core left to each device process (cores
            available to this process / processes on the node - 1), between 1 and 8.
        seed: the training loader shuffles with its own generator seeded from it (the same clip order for every
            variant at one seed, whatever the model consumed from the global generator); None: the global one.
        render_on: where synthetic training clips are rendered: ``cpu`` (in the loader workers), ``device`` (on
            the training device, any data set with ``draw``/``render``), ``auto`` (the device when it is a GPU).
    """

    def __init__(
        self,
        train: DatasetFactory | None,
        val: DatasetFactory | None,
        test: DatasetFactory | None = None,
        batch_size: int = 4,
        eval_batch_size: int | None = None,
        num_workers: int | str = 0,
        seed: int | None = None,
        render_on: str = "auto",
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size: expected a positive integer, got {batch_size}")
        if render_on not in RENDER_ON:
            raise ValueError(f"data.render_on: expected one of {list(RENDER_ON)}, got '{render_on}'")
        self.factories = {"train": train, "val": val, "test": test}
        self.datasets: dict[str, Dataset] = {}
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        if num_workers != "auto" and not (isinstance(num_workers, int) and num_workers >= 0):
            raise ValueError(f"data.num_workers: expected auto or an int >= 0, got {num_workers!r}")
        self.workers = num_workers
        self.render_on = render_on
        self.seed = seed
        self.detached_device = torch.device("cpu")  # the device assumed without a trainer (benchmarks)

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

    @property
    def num_workers(self) -> int:
        """Loader processes (``auto`` resolved for the trainer's processes on this node)."""
        return loader_workers(self.workers, self.trainer.num_devices if self.trainer is not None else 1)

    def device(self) -> torch.device:
        """The trainer's device (``detached_device`` when no trainer is attached)."""
        return self.trainer.strategy.root_device if self.trainer is not None else self.detached_device

    def renders_train_on_device(self) -> bool:
        """Whether training clips are rendered on the device (``render_on``, and a data set that can)."""
        dataset = self.dataset("train")
        if self.render_on == "device" and not renders_on_device(dataset):
            raise ValueError(
                f"data.render_on=device: the training data set {type(getattr(dataset, 'dataset', dataset)).__name__}"
                " cannot render on a device (only synthetic clips do); use render_on=auto or cpu"
            )
        return renders_on_device(dataset) and (
            self.render_on == "device" or (self.render_on == "auto" and self.device().type == "cuda")
        )

    def _loader(
        self, split: str, shuffle: bool, batch_size: int, dataset: Dataset | None = None, **kw: Any
    ) -> DataLoader:
        dataset = dataset if dataset is not None else self.dataset(split)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            drop_last=shuffle,
            pin_memory=self.device().type == "cuda",
            persistent_workers=self.num_workers > 0 and not hasattr(dataset, "set_epoch"),
            generator=torch.Generator().manual_seed(self.seed) if shuffle and self.seed is not None else None,
            **kw,
        )

    def eval_loader(self, split: str) -> DataLoader:
        """An unshuffled evaluation loader over any split (e.g. ``eval split=train``)."""
        return self._loader(split, False, self.eval_batch_size)

    def train_dataloader(self) -> DataLoader:
        if not self.renders_train_on_device():
            return self._loader("train", True, self.batch_size)
        clips = base_clips(self.dataset("train"))
        draws = IndexedErrors(SceneDraws(clips), "train")
        return self._loader("train", True, self.batch_size, draws, collate_fn=DrawnCollate(clips))

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """Drawn synthetic clips are rendered on ``device``; other batches move as Lightning moves them."""
        return super().transfer_batch_to_device(render_batch(batch, device), device, dataloader_idx)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader("test")
