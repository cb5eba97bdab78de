"""The checkpoint a training run reports: chosen by config, loaded for the final validation and test.

``test_ckpt=best`` (default) is the better, by the monitored metric (the highest ``val/psnr``), of the monitored
checkpoint callback's best checkpoint and the final weights: when fit did not validate the final weights
(``max_steps`` reached mid-epoch), both are validated after training, so the run still reports its final
weights when they are better. ``last`` is the weights at the end of training. The final weights are written to
``checkpoints/last.ckpt`` first so that the file holds exactly what is validated and tested. The final
validation and test run on the checkpoint's ``state_dict`` (the averaged weights under ``callbacks/ema``), the
weights ``python -m flowdeblur.eval ckpt_path=<it>`` loads, so eval reproduces the run's test numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint, WeightAveraging

from flowdeblur.checkpoints.load import load_checkpoint

CHOICES = ("best", "last")


def check_choice(choice: str) -> None:
    """A clear error for a ``test_ckpt`` that is not one of :data:`CHOICES` (checked before training starts)."""
    if choice not in CHOICES:
        raise ValueError(f"test_ckpt: expected one of {list(CHOICES)}, got '{choice}'")


def candidate_checkpoints(trainer: pl.Trainer, choice: str, out_dir: Path) -> list[Path]:
    """The checkpoints of a finished fit to validate and choose from (see the module docstring): ``last``: the
    final weights; ``best``: the monitored best checkpoint, then the final weights unless fit validated them
    (the monitored best then already accounts for them).

    ``best`` has only the final weights, with a warning, when no monitored checkpoint was saved (no validation
    ran).
    """
    check_choice(choice)
    last = out_dir / "checkpoints" / "last.ckpt"
    best = next(filter(None, (getattr(cb, "best_model_path", "") for cb in monitoring(trainer))), "")
    if choice == "best" and best and validated_at_the_end(trainer):
        return [Path(best)]
    if choice == "best" and not best:
        warnings.warn(
            "test_ckpt=best: no monitored checkpoint was saved (no validation ran); testing the final "
            "weights (checkpoints/last.ckpt) instead",
            stacklevel=2,
        )
    trainer.save_checkpoint(last)
    return [Path(best), last] if choice == "best" and best else [last]


def validated_at_the_end(trainer: pl.Trainer) -> bool:
    """Whether fit's last validation ran at the final step: with validation every ``check_val_every_n_epoch``
    epochs of ``num_training_batches`` optimisation steps, when the final step ends such an epoch. False when the
    schedule is not that one (step intervals, gradient accumulation) or unknown: the final weights then compete."""
    batches, every = trainer.num_training_batches, trainer.check_val_every_n_epoch
    if not isinstance(batches, int) or batches <= 0 or not every or trainer.val_check_interval != 1.0:
        return False
    return trainer.accumulate_grad_batches == 1 and trainer.global_step % (batches * every) == 0


def monitoring(trainer: pl.Trainer) -> list[ModelCheckpoint]:
    """The trainer's checkpoint callbacks that monitor a metric."""
    return [cb for cb in trainer.checkpoint_callbacks if isinstance(cb, ModelCheckpoint) and cb.monitor]


def better(validated: list[dict[str, Any]], trainer: pl.Trainer) -> dict[str, Any]:
    """The entry of ``validated`` (one validation's results per candidate, in candidate order) with the best value
    of the monitored metric; the first on ties, and the first when nothing is monitored."""
    callbacks = monitoring(trainer)
    if not callbacks or len(validated) == 1:
        return validated[0]
    key, sign = callbacks[0].monitor, (1.0 if callbacks[0].mode == "max" else -1.0)
    assert key is not None  # monitoring() keeps callbacks with a monitor
    return max(validated, key=lambda results: sign * float(results.get(key, -sign * math.inf)))


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
