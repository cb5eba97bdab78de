"""Tell epoch-aware training data sets which epoch starts."""

from __future__ import annotations

import pytorch_lightning as pl


class DatasetEpoch(pl.Callback):
    """Calls ``set_epoch(epoch)`` on the training data set, if it has one, before each training epoch.

    Loader workers are created after this hook (``persistent_workers=False``), so they see the new epoch.
    """

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        dataset = trainer.train_dataloader.dataset if trainer.train_dataloader is not None else None
        if dataset is not None and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(trainer.current_epoch)
