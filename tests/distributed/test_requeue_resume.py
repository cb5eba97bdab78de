"""A requeued SLURM job resumes from its run dir's newest checkpoint; other runs start fresh."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from flowdeblur.checkpoints.resume import resume_path
from tests.distributed.runner import TINY_RUN, run_entry


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"last")
    return tmp_path


def test_fresh_job_starts_fresh(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    assert resume_path(None, run_dir) is None
    monkeypatch.setenv("SLURM_RESTART_COUNT", "0")
    assert resume_path(None, run_dir) is None


def test_requeued_job_resumes_from_last_checkpoint(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert resume_path(None, run_dir) == str(run_dir / "checkpoints" / "last.ckpt")


def test_requeued_job_prefers_a_newer_hpc_checkpoint(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_RESTART_COUNT", "2")
    hpc = run_dir / "hpc_ckpt_1.ckpt"
    hpc.write_bytes(b"hpc")
    os.utime(run_dir / "checkpoints" / "last.ckpt", (1_000, 1_000))
    assert resume_path(None, run_dir) == str(hpc)
    os.utime(hpc, (500, 500))
    assert resume_path(None, run_dir) == str(run_dir / "checkpoints" / "last.ckpt")


def test_requeued_job_without_checkpoints_is_fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert resume_path(None, tmp_path) is None


def test_explicit_checkpoint_wins(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert resume_path("/elsewhere/step.ckpt", run_dir) == "/elsewhere/step.ckpt"


@pytest.mark.slow
def test_requeued_training_continues_from_last_checkpoint(tmp_path: Path) -> None:
    first = run_entry("flowdeblur.train", [*TINY_RUN, "trainer.max_steps=2", f"hydra.run.dir={tmp_path}"], timeout=120)
    assert first.returncode == 0, first.output[-4000:]
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 2
    requeued = run_entry(
        "flowdeblur.train",
        [*TINY_RUN, "trainer.max_steps=4", f"hydra.run.dir={tmp_path}"],
        timeout=120,
        env={"SLURM_RESTART_COUNT": "1"},
    )
    assert requeued.returncode == 0, requeued.output[-4000:]
    assert f"Restoring states from the checkpoint path at {last}" in requeued.output
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 4
