"""The training entry point with several processes: failures end the job, multiruns, refused set-ups."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.distributed.runner import TINY_RUN, read_metrics, run_entry

CPU_DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true"]


def test_multirun_with_reexecuted_ranks_is_refused_before_any_job(tmp_path: Path) -> None:
    run = run_entry(
        "flowdeblur.train",
        [
            "-m",
            *TINY_RUN,
            *CPU_DDP,
            "seed=0,1",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        timeout=60,
    )
    assert run.returncode != 0
    assert "LaunchError" in run.output and "replay the whole sweep in every rank" in run.output
    assert "Launching 2 jobs" not in run.output
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param(["trainer=ddp_cpu", "trainer.devices=1"], "DDP needs at least 2", id="ddp-one-device"),
        pytest.param(
            ["trainer=gpu"],
            "cannot run on this machine",
            id="gpu-without-gpus",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without GPUs"),
        ),
    ],
)
def test_impossible_trainer_stops_before_any_work(tmp_path: Path, overrides: list[str], error: str) -> None:
    run = run_entry("flowdeblur.train", [*TINY_RUN, *overrides, f"hydra.run.dir={tmp_path}"], timeout=60)
    assert run.returncode != 0
    assert "LaunchError" in run.output and error in run.output
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize(
    ("trainer", "rank"),
    [
        pytest.param(["trainer=ddp_cpu"], 1, id="fork-rank1"),
        pytest.param(["trainer=ddp_cpu"], 0, id="fork-rank0", marks=pytest.mark.slow),
        pytest.param(CPU_DDP, 0, id="popen-rank0", marks=pytest.mark.slow),
        pytest.param(CPU_DDP, 1, id="popen-rank1", marks=pytest.mark.slow),
    ],
)
def test_failing_rank_ends_the_job(tmp_path: Path, trainer: list[str], rank: int) -> None:
    run = run_entry(
        "flowdeblur.train",
        [
            *TINY_RUN,
            *trainer,
            "trainer.max_steps=4",
            f"hydra.run.dir={tmp_path}",
            "+callbacks.fail._target_=tests.distributed.probes.FailOnRank",
            f"+callbacks.fail.rank={rank}",
            "+callbacks.fail.step=1",
        ],
        timeout=60,
    )
    assert run.returncode != 0
    assert f"injected failure on rank {rank} at step 1" in run.output


@pytest.mark.slow
def test_popen_ddp_ranks_share_the_run_dir(tmp_path: Path) -> None:
    run = run_entry(
        "flowdeblur.train",
        [
            *TINY_RUN,
            *CPU_DDP,
            "trainer.max_steps=2",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        timeout=180,
    )
    assert run.returncode == 0, run.output[-4000:]
    run_dir = tmp_path / "run"
    assert read_metrics(run_dir)["status"] == "completed"
    assert (run_dir / "train_ddp_process_1.log").is_file()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())[0] == "last.ckpt"
    assert [p.parent.name for p in run_dir.rglob("metrics.csv")] == ["csv"]


@pytest.mark.slow
def test_multirun_of_two_jobs_each_on_two_processes(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run = run_entry(
        "flowdeblur.train",
        [
            "-m",
            *TINY_RUN,
            "trainer=ddp_cpu",
            "trainer.max_steps=2",
            "seed=0,1",
            f"hydra.sweep.dir={sweep}",
        ],
        timeout=240,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")) == ["0", "1"]
    for job in ("0", "1"):
        metrics = read_metrics(sweep / job)
        assert metrics["status"] == "completed" and metrics["val/psnr"] > 0
        assert (sweep / job / "checkpoints" / "last.ckpt").is_file()
    assert read_metrics(sweep / "0")["overrides"] != read_metrics(sweep / "1")["overrides"]
