"""The checkpoint a training run reports: chosen by config, loaded for the final validation and test.

``test_ckpt=best`` (default) is the monitored checkpoint callback's best checkpoint (the highest ``val/psnr``);
``last`` is the weights at the end of training, written to ``checkpoints/last.ckpt`` first so that the file
holds exactly what is tested. The final validation and test run on the checkpoint's ``state_dict`` (the
averaged weights under ``callbacks/ema``), the weights ``python -m flowdeblur.eval ckpt_path=<it>`` loads, so
eval reproduces the run's test numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import WeightAveraging

from flowdeblur.checkpoints.load import load_checkpoint

CHOICES = ("best", "last")


def check_choice(choice: str) -> None:
    """A clear error for a ``test_ckpt`` that is not one of :data:`CHOICES` (checked before training starts)."""
    if choice not in CHOICES:
        raise ValueError(f"test_ckpt: expected one of {list(CHOICES)}, got '{choice}'")


def chosen_checkpoint(trainer: pl.Trainer, choice: str, out_dir: Path) -> Path:
    """The path of the ``best`` or ``last`` checkpoint of a finished fit (see the module docstring).

    ``best`` falls back to ``last`` with a warning when no monitored checkpoint was saved (no validation ran).
    """
    check_choice(choice)
    if choice == "best":
        paths = (
            getattr(cb, "best_model_path", "") for cb in trainer.checkpoint_callbacks if getattr(cb, "monitor", None)
        )
        best = next(filter(None, paths), "")
        if best:
            return Path(best)
        warnings.warn(
            "test_ckpt=best: no monitored checkpoint was saved (no validation ran); testing the final "
            "weights (checkpoints/last.ckpt) instead",
            stacklevel=2,
        )
    path = out_dir / "checkpoints" / "last.ckpt"
    trainer.save_checkpoint(path)
    return path


def load_chosen(module: pl.LightningModule, trainer: pl.Trainer, path: Path) -> dict[str, Any]:
    """Load ``path``'s ``state_dict`` into ``module``; returns ``checkpoint/{path,step}`` for metrics.json."""
    trainer.strategy.barrier()
    ckpt = load_checkpoint(path)
    module.load_state_dict(ckpt["state_dict"])
    return {"checkpoint/path": str(path), "checkpoint/step": int(ckpt.get("global_step", -1))}


@contextmanager
def without_weight_averaging(trainer: pl.Trainer) -> Iterator[None]:
    """Validate/test the loaded weights as they are: weight-averaging callbacks (which swap in their running
    average during validation) are left out for the duration."""
    # Trainer.callbacks is assigned by Lightning's callback connector and not declared on the class
    kept: list[pl.Callback] = trainer.callbacks  # type: ignore[attr-defined]
    trainer.callbacks = [cb for cb in kept if not isinstance(cb, WeightAveraging)]  # type: ignore[attr-defined]
    try:
        yield
    finally:
        trainer.callbacks = kept  # type: ignore[attr-defined]
