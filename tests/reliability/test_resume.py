"""``ckpt_path=last`` / a run dir resumes weights, optimizer, schedule, step, RNG streams and the W&B run id."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from flowdeblur.callbacks.rng import RngState
from flowdeblur.checkpoints.load import CheckpointError
from flowdeblur.checkpoints.resume import resume_path
from flowdeblur.config import compose_config
from flowdeblur.loggers.wandb_run import RUN_ID_FILE, apply_run_id
from tests.distributed.runner import REPO, read_metrics, run_entry
from tests.helpers import TINY, tiny_train
from tests.reliability.tiny import RELIABLE_RUN, Crash, assert_same_states, checkpoint_state, crash_at


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"ckpt")
    return tmp_path


def test_last_means_this_run_dirs_last_checkpoint(run_dir: Path) -> None:
    assert resume_path("last", run_dir) == str(run_dir / "checkpoints" / "last.ckpt")


def test_a_run_dir_means_its_last_checkpoint(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("other")
    assert resume_path(str(run_dir), elsewhere) == str(run_dir / "checkpoints" / "last.ckpt")
    assert resume_path(str(run_dir / "checkpoints" / "last.ckpt"), elsewhere) == str(
        run_dir / "checkpoints" / "last.ckpt"
    )


@pytest.mark.parametrize("given", ["last", "dir"])
def test_missing_last_checkpoint_names_the_expected_file(tmp_path: Path, given: str) -> None:
    with pytest.raises(CheckpointError, match=r"checkpoints[/\\]last\.ckpt"):
        resume_path("last" if given == "last" else str(tmp_path), tmp_path)


def test_rng_states_round_trip_through_a_weights_only_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    torch.randn(3), np.random.normal(), random.random()  # noqa: B018 - advance every stream (numpy's Gaussian cache)
    callback = RngState()
    torch.save({"rng": callback.state_dict()}, tmp_path / "rng.pt")
    expected = (torch.rand(4), np.random.rand(4), [random.random() for _ in range(4)], np.random.normal())
    callback.load_state_dict(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    drawn = (torch.rand(4), np.random.rand(4), [random.random() for _ in range(4)], np.random.normal())
    assert torch.equal(drawn[0], expected[0])
    np.testing.assert_array_equal(drawn[1], expected[1])
    assert drawn[2] == expected[2] and drawn[3] == expected[3]


def test_wandb_run_id_is_stored_and_reused(tmp_path: Path) -> None:
    cfg = compose_config([*TINY, "logger=wandb"], output_dir=tmp_path)
    run_id = apply_run_id(cfg, tmp_path)
    assert run_id and (tmp_path / RUN_ID_FILE).read_text().strip() == run_id
    assert cfg.logger.wandb.id == run_id and cfg.logger.wandb.resume == "allow"
    again = compose_config([*TINY, "logger=wandb"], output_dir=tmp_path)
    assert apply_run_id(again, tmp_path) == run_id and again.logger.wandb.id == run_id
    assert apply_run_id(compose_config(TINY, output_dir=tmp_path), tmp_path) is None  # csv only


def test_resumed_training_equals_uninterrupted(tmp_path: Path) -> None:
    """Two epochs in one go vs one epoch, then ``ckpt_path=last`` for the second: same weights and metrics."""
    whole = tiny_train(tmp_path / "whole", *RELIABLE_RUN[4:], "trainer.max_steps=2")
    with pytest.raises(Crash):
        tiny_train(tmp_path / "split", *RELIABLE_RUN[4:], "trainer.max_steps=2", crash_at(1))
    first = torch.load(tmp_path / "split" / "checkpoints" / "last.ckpt", weights_only=True)
    assert first["global_step"] == 1 and "RngState" in first["callbacks"]
    resumed = tiny_train(tmp_path / "split", *RELIABLE_RUN[4:], "trainer.max_steps=2", "ckpt_path=last")
    last = torch.load(tmp_path / "split" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2 and last["epoch"] == 1
    assert_same_states(checkpoint_state(str(tmp_path / "whole" / "checkpoints" / "last.ckpt")), last["state_dict"])
    assert resumed["val/psnr"] == pytest.approx(whole["val/psnr"], abs=1e-5)


@pytest.mark.slow
def test_resume_after_kill_9_equals_uninterrupted(tmp_path: Path) -> None:
    """SIGKILL the training at a random step after a checkpoint, resume with ``ckpt_path=last``: same result."""
    steps = ["trainer.max_steps=5"]
    whole = run_entry("flowdeblur.train", [*RELIABLE_RUN, *steps, f"hydra.run.dir={tmp_path / 'whole'}"], 240)
    assert whole.returncode == 0, whole.output[-3000:]
    kill_after = random.Random().randint(1, 3)
    run = tmp_path / "killed"
    killed = start_entry("flowdeblur.train", [*RELIABLE_RUN, *steps, f"hydra.run.dir={run}"])
    try:
        wait_for_step(run / "checkpoints" / "last.ckpt", kill_after, timeout=180)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] < 5
    resumed = run_entry("flowdeblur.train", [*RELIABLE_RUN, *steps, f"hydra.run.dir={run}", "ckpt_path=last"], 240)
    assert resumed.returncode == 0, resumed.output[-3000:]
    assert_same_states(
        checkpoint_state(str(tmp_path / "whole" / "checkpoints" / "last.ckpt")),
        checkpoint_state(str(run / "checkpoints" / "last.ckpt")),
    )
    assert read_metrics(run)["val/psnr"] == pytest.approx(read_metrics(tmp_path / "whole")["val/psnr"], abs=1e-5)


def start_entry(module: str, overrides: list[str]) -> subprocess.Popen[bytes]:
    """``python -m <module> <overrides>`` in the background, in its own process group."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", module, *overrides],
        cwd=REPO,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_step(checkpoint: Path, step: int, timeout: float) -> None:
    """Poll until ``checkpoint`` exists with ``global_step >= step`` (atomic writes: never half-written)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if checkpoint.is_file() and torch.load(checkpoint, weights_only=True)["global_step"] >= step:
            return
        time.sleep(0.2)
    raise TimeoutError(f"no checkpoint of step {step} at {checkpoint} within {timeout} s")
