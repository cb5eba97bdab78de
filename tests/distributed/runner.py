"""Running the entry points in subprocesses with a hard time limit (every rank of a DDP run included)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# A tiny model (zero flow, no conditioned layers, a narrow U-Net) on the tiny synthetic data: fast on 2 cores.
TINY_RUN = [
    "data=synthetic_tiny",
    "logger=csv",
    "~callbacks.progress_bar",
    "lpips_metric=false",
    "~model/head",
    "~model/layer",
    "model/flow=zero",
    "model.deblurrer.channels=[8,8,16,16]",
    "model.deblurrer.blocks=1",
    "run_test=false",
    "trainer.log_every_n_steps=1",
]


@dataclass
class Finished:
    """A finished subprocess: exit code, wall time and combined output."""

    returncode: int
    seconds: float
    output: str


def run_entry(module: str, overrides: list[str], timeout: float, env: dict[str, str] | None = None) -> Finished:
    """``python -m <module> <overrides>`` from the repository root, in its own process group.

    On timeout the whole group (fork-started ranks too) is killed and ``TimeoutError`` is raised.
    """
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "HYDRA_FULL_ERROR": "1",
        **(env or {}),
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *overrides],
        cwd=REPO,
        env=environ,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as err:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        raise TimeoutError(f"{module} {' '.join(overrides)} ran over {timeout} s:\n{output[-4000:]}") from err
    finally:
        _kill_leftovers(proc.pid)
    return Finished(proc.returncode, time.perf_counter() - start, output)


def _kill_leftovers(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """The ``metrics.json`` an entry point wrote into ``run_dir``."""
    return json.loads((run_dir / "metrics.json").read_text())
