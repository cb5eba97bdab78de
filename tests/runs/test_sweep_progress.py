"""Sweep progress: the size and swept options of a multirun, the per-job lines and done/total with an ETA read
from the sweep dir (so parallel workers and resumed sweeps count alike)."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from flowdeblur.runs import overall
from flowdeblur.runs.sweep_progress import (
    OVERALL_FILE,
    SWEEP_FILE,
    Plan,
    SweepProgress,
    count,
    duration,
    outcome,
    plan_of,
    progress,
    variant,
)
from tests.sweeping import write_job


def hydra_node(params: dict[str, str], task: list[str], **sweeper: object) -> object:
    return OmegaConf.create({"sweeper": {"params": params, **sweeper}, "overrides": {"task": task}})


def job_config(sweep: Path, job_dir: Path, task: list[str]) -> DictConfig:
    """The config Hydra hands a callback for the multirun job ``job_dir`` of ``sweep``."""
    hydra = {"mode": RunMode.MULTIRUN, "sweep": {"dir": str(sweep)}, "runtime": {"output_dir": str(job_dir)}}
    return OmegaConf.create({"hydra": {**hydra, "job": {"num": int(job_dir.name)}, "overrides": {"task": task}}})


def test_plan_counts_the_grid_of_params_and_command_line() -> None:
    hydra = hydra_node({"experiment": "a,b,c", "seed": "0,1,2"}, ["data=synthetic_tiny", "model/flow=pwc,dis"])
    assert plan_of(hydra) == (18, ("experiment", "seed", "model/flow"))
    # the command line replaces a swept option of the config, as Hydra's basic sweeper does
    assert plan_of(hydra_node({"seed": "0,1,2"}, ["seed=5", "+x=range(0,4)"])) == (4, ("x",))
    assert plan_of(hydra_node({}, ["seed=1"])) == (1, ())


def test_plan_of_a_search_is_its_number_of_trials() -> None:
    hydra = hydra_node({"optim.optimizer.lr": "tag(log, interval(1e-4, 2e-3))"}, ["seed=0"], n_trials=20)
    assert plan_of(hydra) == (20, ("optim.optimizer.lr",))
    assert plan_of(hydra_node({"lr": "interval(0, 1)"}, [])) == (None, ("lr",))


def test_variant_outcome_duration() -> None:
    swept = ("experiment", "seed")
    assert variant(["+sweep=ablation", "experiment=tcsvt", "seed=2", "data=x"], swept) == ("experiment=tcsvt", "2")
    assert variant(["data=x", "seed=1"], ()) == ("data=x", "1")
    assert variant(["seed=1"], ("seed",)) == ("(defaults)", "1")
    assert outcome({"val/psnr": 28.5, "val/psnr_input": 26.25}) == "val gain +2.25 dB"
    assert outcome({"status": "failed", "error": "ValueError: bad\nmore"}) == "ValueError: bad"
    assert [duration(s) for s in (4.4, 185, 3720)] == ["4s", "3m05s", "1h02m"]


def test_done_counts_finished_jobs_and_eta_uses_this_sessions_rate(tmp_path: Path) -> None:
    write_job(tmp_path, 0, ["seed=0"], {"status": "completed"})  # from an earlier, resumed session
    os.utime(tmp_path / "0" / "metrics.json", (1000.0, 1000.0))
    write_job(tmp_path, 1, ["seed=1"], {"status": "failed", "error": "x"})
    write_job(tmp_path, 2, ["seed=2"], {"status": "running"})
    write_job(tmp_path, 3, ["seed=3"], None)
    started = 2000.0
    os.utime(tmp_path / "1" / "metrics.json", (started + 60, started + 60))
    assert count(tmp_path, started) == (2, 1)
    # one job finished in the 120 s since the start: the 8 left take 960 s
    assert progress(tmp_path, Plan(started, 10, ()), started + 120) == "2/10 done, ETA 16m00s"
    assert progress(tmp_path, Plan(started, None, ()), started + 120) == "2 done"


def test_callback_lines_of_a_job(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sweep = tmp_path / "sweep"
    root = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "sweeper": {"params": {"seed": "0,1"}}, "overrides": {"task": []}}}
    )
    callback = SweepProgress()
    callback.on_multirun_start(root)
    assert json.loads((sweep / SWEEP_FILE).read_text())["total"] == 2
    job_dir = write_job(sweep, 1, ["data=x", "seed=1"], None)
    config = job_config(sweep, job_dir, ["data=x", "seed=1"])
    with caplog.at_level(logging.INFO, logger="flowdeblur.sweep"):
        callback.on_job_start(config)
        (job_dir / "metrics.json").write_text(json.dumps({"status": "completed", "val/psnr": 27, "val/psnr_input": 26}))
        callback.on_job_end(config, JobReturn(status=JobStatus.COMPLETED))
    start, end = caplog.messages
    assert start == "[sweep] job #1 of 2 started: (defaults) seed=1"
    assert end.startswith("[sweep] job #1 completed after 0s: (defaults) seed=1, val gain +1.00 dB | 1/2 done, ETA")


def test_job_end_line_shows_the_overall_progress_of_the_folder_above(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``make ablation``'s several multiruns under one folder: each job-end line counts the finished jobs of all."""
    write_job(tmp_path / "lr", 0, ["seed=0"], {"status": "completed"})
    write_job(tmp_path / "lr", 1, ["seed=1"], {"status": "failed", "error": "x"})
    assert overall.main([str(tmp_path), "+sweep=ablation_quick_lr", "2*+sweep=ablation_quick"]) == 0
    assert json.loads((tmp_path / OVERALL_FILE).read_text())["total"] == 4 * 2 + 2 * 4 * 2  # presets x lr, x seeds
    sweep = tmp_path / "100" / "tcsvt"
    job_dir = write_job(sweep, 0, ["seed=0"], {"status": "completed", "val/psnr": 27, "val/psnr_input": 26})
    config = job_config(sweep, job_dir, ["seed=0"])
    with caplog.at_level(logging.INFO, logger="flowdeblur.sweep"):
        SweepProgress().on_job_end(config, JobReturn(status=JobStatus.COMPLETED))
    assert re.search(r"val gain \+1\.00 dB \| overall 3/24 done, ETA \w+$", caplog.messages[0])


def test_overall_refuses_a_part_it_cannot_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert overall.main([str(tmp_path), "x*+sweep=ablation_quick"]) == 2
    assert overall.main([str(tmp_path), "+sweep=no_such_sweep"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "expected '<overrides>' or '<count>*<overrides>'" in lines[0]
    assert "no_such_sweep" in lines[1]
    assert not (tmp_path / OVERALL_FILE).exists()
