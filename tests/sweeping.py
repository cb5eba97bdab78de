"""Helpers for the sweep, report and Optuna tests: hand-made sweep dirs and real tiny multiruns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.distributed.runner import Finished, read_metrics, run_entry

__all__ = ["TINY_SWEEP", "multirun", "read_metrics", "write_job"]

# the default composition (pyramid flow -> gates -> spatial RNN) made narrow, in fp32, one optimisation step,
# one panel clip: a job takes a few seconds on 2 cores
TINY_SWEEP = [
    "data=synthetic_tiny",
    "logger=csv",
    "~callbacks.progress_bar",
    "lpips_metric=false",
    "run_test=false",
    "trainer.precision=32-true",
    "model.deblurrer.channels=[8,8,16,16]",
    "model.deblurrer.blocks=1",
    "model.flow.channels=[8,8,8]",
    "trainer.max_steps=1",
    "trainer.log_every_n_steps=1",
    "callbacks.panels.num_clips=1",
]


def write_job(
    sweep_dir: Path, num: int, overrides: list[str], metrics: dict[str, Any] | None, mode: str = "MULTIRUN"
) -> Path:
    """A job dir as Hydra and the train entry point leave it: ``.hydra/{overrides,hydra}.yaml`` and, unless
    ``metrics`` is None (a job not started yet), ``metrics.json``."""
    job = sweep_dir / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (job / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  mode: {mode}\n")
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    return job


def multirun(sweep_dir: Path, *overrides: str, timeout: float = 240) -> Finished:
    """``python -m flowdeblur.train -m <tiny settings> <overrides>`` into ``sweep_dir``."""
    args = ["-m", *TINY_SWEEP, *overrides, f"hydra.sweep.dir={sweep_dir}"]
    return run_entry("flowdeblur.train", args, timeout)
