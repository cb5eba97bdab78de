"""Reliability-test helpers: the smallest deterministic training set-up, a crash, a malicious checkpoint, and the
expected form of a user error."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytorch_lightning as pl
import torch

from tests.distributed.runner import TINY_RUN, Finished

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


class Crafted:
    """Unpickling it with code execution enabled would create ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return builtins.open, (str(self.path), "w")


def malicious_checkpoint(path: Path, marker: Path) -> Path:
    """A checkpoint-shaped file whose pickle would create ``marker`` if it were executed."""
    torch.save(
        {"state_dict": {"net.x": torch.zeros(1)}, "hyper_parameters": {"config": {}}, "x": Crafted(marker)}, path
    )
    return path


def assert_user_error(done: Finished, prog: str, *expected: str) -> None:
    """Exit status 2, no traceback, and one `<prog>: error:` line containing every ``expected`` text."""
    assert done.returncode == 2, done.output[-3000:]
    assert "Traceback" not in done.output, done.output[-3000:]
    line = next(line for line in done.output.splitlines() if line.startswith(f"{prog}: error:"))
    for text in expected:
        assert text in line, line
