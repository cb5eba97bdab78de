"""The smallest training set-up for reliability tests: deterministic, full precision, one step per epoch."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from tests.distributed.runner import TINY_RUN

# One training batch per epoch, so every epoch ends with a validation and a fresh checkpoints/last.ckpt.
RELIABLE_RUN = [
    *TINY_RUN,
    "trainer.precision=32-true",
    "trainer.deterministic=true",
    "data.train.length=2",
    "data.val.length=2",
    "data.train.crop=32",
    "data.val.crop=32",
    "~callbacks.panels",
    "min_free_mb=0",
]


class Crash(Exception):
    """Raised by :class:`CrashAt` in place of a killed process."""


class CrashAt(pl.Callback):
    """Raise :class:`Crash` when training step ``step`` is about to start (after earlier checkpoints)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.global_step >= self.step:
            raise Crash(f"crash before step {self.step}")


def crash_at(step: int) -> str:
    """The override adding :class:`CrashAt` to a training's callbacks."""
    return f"+callbacks.crash={{_target_:tests.reliability.tiny.CrashAt,step:{step}}}"


def checkpoint_state(path: str) -> dict[str, torch.Tensor]:
    """The model state_dict of a checkpoint."""
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_states(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Equal keys and values within float32 round-off."""
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-7, msg=key)
