"""Validation panels: for a fixed set of validation clips, one image per clip every N epochs.

Each panel shows blurry target | restored | sharp | flow (colour wheel) | error map | conditioned-weight
magnitude per level (:mod:`flowdeblur.viz.panel`). Panels go to every W&B logger as ``wandb.Image``
(key ``panels/clip<id>``, stepped by the global step) and, when ``save_dir`` is set, to PNG files
``<save_dir>/epoch<E>_step<S>_clip<id>.png`` (useful with the CSV logger). Only rank 0 renders and logs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.trainer.states import TrainerFn
from torch.utils.data import Dataset, default_collate

from flowdeblur.viz.panel import panel_tiles, render_panel


class ValidationPanels(pl.Callback):
    """Log image panels of ``num_clips`` fixed validation clips.

    Args:
        every_n_epochs: render at the validation of every N-th training epoch (epoch 0 included) and at every
            stand-alone validation (the final one after training).
        num_clips: clips, spread evenly over the validation set (the same ones every time).
        save_dir: directory for PNG copies, or None for W&B only.
        error_max: top of the error map's fixed colour scale (absolute error, image range 1).
    """

    def __init__(
        self, every_n_epochs: int = 1, num_clips: int = 2, save_dir: str | None = None, error_max: float = 0.1
    ) -> None:
        super().__init__()
        if every_n_epochs < 1 or num_clips < 1:
            raise ValueError(
                f"callbacks.panels: every_n_epochs and num_clips must be >= 1, got {every_n_epochs} and {num_clips}"
            )
        self.every_n_epochs = every_n_epochs
        self.num_clips = num_clips
        self.save_dir = Path(save_dir) if save_dir else None
        self.error_max = error_max

    def due(self, trainer: pl.Trainer) -> bool:
        """Whether this validation epoch renders panels."""
        if trainer.sanity_checking or not trainer.is_global_zero:
            return False
        return trainer.state.fn != TrainerFn.FITTING or trainer.current_epoch % self.every_n_epochs == 0

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.due(trainer):
            return
        dataset = validation_dataset(trainer)
        if dataset is None:
            return
        was_training = pl_module.training
        pl_module.eval()
        for index in clip_indices(len(dataset), self.num_clips):  # type: ignore[arg-type]
            self.log_panel(trainer, pl_module, dataset[index], index)
        pl_module.train(was_training)

    @torch.no_grad()
    def log_panel(self, trainer: pl.Trainer, pl_module: pl.LightningModule, sample: dict, index: int) -> None:
        batch = pl_module.transfer_batch_to_device(default_collate([sample]), pl_module.device, 0)
        target = int(batch["target"].flatten()[0])
        out = pl_module(batch["blurry"], target)
        clip = int(batch["clip"][0]) if "clip" in batch else index
        title = f"clip {clip} · epoch {trainer.current_epoch} · step {trainer.global_step}"
        image = render_panel(panel_tiles(batch, out, target, self.error_max), title)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key=f"panels/clip{clip}", images=[image], caption=[title], step=trainer.global_step)
        if self.save_dir is not None:
            import matplotlib.image

            self.save_dir.mkdir(parents=True, exist_ok=True)
            name = f"epoch{trainer.current_epoch:03d}_step{trainer.global_step:06d}_clip{clip}.png"
            matplotlib.image.imsave(self.save_dir / name, image)


def validation_dataset(trainer: pl.Trainer) -> Dataset | None:
    """The data set of the (first) validation loader, if any."""
    loaders = trainer.val_dataloaders
    if isinstance(loaders, list | tuple):
        loaders = loaders[0] if loaders else None
    return getattr(loaders, "dataset", None)


def clip_indices(length: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(length)`` (fewer if the data set is smaller)."""
    return sorted({int(i) for i in np.linspace(0, length - 1, min(count, length)).round()}) if length else []
