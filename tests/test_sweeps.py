"""Real multiruns of the train entry point: every job records metrics.json, W&B runs of a sweep share a group,
failures are recorded without stopping the sweep, unknown options fail before any job starts."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from flowdeblur.reporting.aggregate import build_report
from flowdeblur.runs.status import run_job
from flowdeblur.train import train
from tests.distributed.runner import Finished
from tests.helpers import CONF_DIR, compose_config
from tests.loggers.wandb_reader import load_offline_run, load_offline_run_info
from tests.sweeping import TINY_SWEEP, multirun, read_metrics

GRID = {(inputs, seed) for inputs in ("target", "window") for seed in (0, 1)}
BOGUS = {("bogus", 0), ("bogus", 1)}


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Finished]:
    """The encoder ablation cut to one preset x 2 deblurrer inputs x 2 seeds, plus an invalid input whose jobs
    fail; basic launcher, offline W&B."""
    sweep = tmp_path_factory.mktemp("basic") / "sweep"
    done = multirun(
        sweep,
        "+sweep=ablation_encoder",
        "experiment=tcsvt",
        "model.deblurrer.input=target,window,bogus",
        "seed=0,1",
        "logger=wandb",
    )
    return sweep, done


def jobs_by_variant(sweep: Path) -> dict[tuple[str, int], tuple[Path, dict[str, Any]]]:
    """(deblurrer input, seed) -> (job dir, metrics.json) of every job of a sweep."""
    jobs = {}
    for job in sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir()):
        metrics = read_metrics(job)
        overrides = dict(o.split("=", 1) for o in metrics["overrides"].split())
        jobs[overrides["model.deblurrer.input"], int(overrides["seed"])] = job, metrics
    return jobs


def test_every_job_writes_its_metrics(basic_sweep: tuple[Path, Finished]) -> None:
    sweep, done = basic_sweep
    assert done.returncode == 0, done.output[-3000:]
    jobs = jobs_by_variant(sweep)
    assert set(jobs) == GRID | BOGUS
    for key in GRID:
        metrics = jobs[key][1]
        assert metrics["status"] == "completed"
        assert 10 < metrics["val/psnr"] < 60 and 0 < metrics["val/ssim"] <= 1
        assert metrics["params/total"] > 0 and metrics["macs"] > 0 and metrics["time/train_s"] > 0
    assert jobs["target", 0][1]["params/source"] > 0
    assert jobs["window", 0][1]["params/deblurrer"] > jobs["target", 0][1]["params/deblurrer"]
    assert 0 < jobs["target", 0][1]["params/effective"] <= jobs["target", 0][1]["params/total"]


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(basic_sweep: tuple[Path, Finished]) -> None:
    sweep, done = basic_sweep
    jobs = jobs_by_variant(sweep)
    for key in BOGUS:
        metrics = jobs[key][1]
        assert metrics["status"] == "failed" and "ValueError" in metrics["traceback"]
        assert metrics["error"].startswith("ValueError: model.deblurrer.input: expected one of")
    assert done.output.count("job failed (recorded in") == 2


def assert_progress_lines(output: str, sweep: Path, total: int) -> None:
    """A start and an end line per job, the last end line at total/total, and each job's log in its dir."""
    for num in range(total):
        assert f"[sweep] job #{num} of {total} started: " in output
        assert re.search(rf"\[sweep\] job #{num} (completed|failed) after \d+s: .*seed=\d", output)
        log = (sweep / str(num) / "train.log").read_text()
        assert f"[sweep] job #{num} of {total} started" in log and "Seed set to" in log
    done = [int(n) for n in re.findall(rf"\| (\d+)/{total} done", output)]
    assert sorted(done) == list(range(1, total + 1))
    assert f"[sweep] {total}/{total} done in " in output


def test_progress_lines_and_job_logs(basic_sweep: tuple[Path, Finished]) -> None:
    sweep, done = basic_sweep
    assert_progress_lines(done.output, sweep, 6)
    assert re.search(r"job #\d completed after \d+s: model.deblurrer.input=target seed=0, val gain [+-]\d", done.output)
    completed = jobs_by_variant(sweep)["target", 0][0]
    assert "flowdeblur results" in (completed / "train.log").read_text()


def test_wandb_runs_of_a_sweep_share_group_and_tags(basic_sweep: tuple[Path, Finished]) -> None:
    jobs = jobs_by_variant(basic_sweep[0])
    infos = {key: load_offline_run_info(jobs[key][0]) for key in GRID}
    assert len({info["group"] for info in infos.values()}) == 1
    for (source, seed), info in infos.items():
        assert info["group"].startswith("ablation_encoder-")
        assert {"ablation_encoder", f"model.deblurrer.input={source}", f"seed={seed}"} <= set(info["tags"])
        _, summary, _, _ = load_offline_run(jobs[source, seed][0])
        assert summary["val/psnr"] == pytest.approx(jobs[source, seed][1]["val/psnr"])
        assert summary["status"] == "completed"


def test_report_on_the_sweep(basic_sweep: tuple[Path, Finished]) -> None:
    sweep, _ = basic_sweep
    jobs = jobs_by_variant(sweep)
    report = build_report(sweep)
    assert report.options == ["model.deblurrer.input"]
    by_source = {v.options[0][1]: v for v in report.variants}
    for source in ("target", "window"):
        values = [jobs[source, seed][1]["val/psnr"] for seed in (0, 1)]
        assert by_source[source].stats["val/psnr"].mean == pytest.approx(statistics.fmean(values))
        assert by_source[source].stats["val/psnr"].std == pytest.approx(statistics.stdev(values))
    assert (by_source["bogus"].count("failed"), by_source["bogus"].stats["val/psnr"].n) == (2, 0)
    (psnr,) = [c for c in report.comparisons if c.metric == "val/psnr"]
    assert psnr.seeds == ("0", "1") and psnr.baseline == (("model.deblurrer.input", "target"),)
    differences = [jobs["window", seed][1]["val/psnr"] - jobs["target", seed][1]["val/psnr"] for seed in (0, 1)]
    assert psnr.mean == pytest.approx(statistics.fmean(differences))


@pytest.mark.slow
def test_joblib_sweep(tmp_path: Path) -> None:
    done = multirun(tmp_path, "launcher=joblib", "model.deblurrer.input=target,bogus", "seed=0,1")
    assert done.returncode == 0, done.output[-3000:]
    jobs = jobs_by_variant(tmp_path)
    assert {key: metrics["status"] for key, (_, metrics) in jobs.items()} == {
        ("target", 0): "completed",
        ("target", 1): "completed",
        ("bogus", 0): "failed",
        ("bogus", 1): "failed",
    }
    assert_progress_lines(done.output, tmp_path, 4)
    report = build_report(tmp_path)
    assert [(v.count("completed"), v.count("failed")) for v in report.variants] == [(2, 0), (0, 2)]
    flow = [jobs["target", seed][1]["val/psnr"] for seed in (0, 1)]
    assert report.variants[0].stats["val/psnr"].mean == pytest.approx(statistics.fmean(flow))


def test_single_run_failure_is_recorded_then_raised(tmp_path: Path) -> None:
    cfg = compose_config([*TINY_SWEEP, "model.deblurrer.input=bogus"], output_dir=tmp_path)
    with pytest.raises(ValueError, match="model.deblurrer.input"):
        run_job(train, cfg)
    metrics = read_metrics(tmp_path)
    assert metrics["status"] == "failed" and "ValueError" in metrics["traceback"]


def test_unknown_option_fails_before_any_job(tmp_path: Path) -> None:
    done = multirun(tmp_path, "model/flow=pyramid,pwx", timeout=120)
    assert done.returncode != 0
    assert "Could not find 'model/flow/pwx'" in done.output
    assert "Available options in 'model/flow'" in done.output
    assert not list(tmp_path.glob("*/.hydra"))


def hydra_node(*overrides: str) -> DictConfig:
    """The ``hydra`` node of the train config composed with ``overrides``."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True).hydra


def test_sweep_and_launcher_options_compose() -> None:
    params = hydra_node("+sweep=ablation_encoder").sweeper.params
    assert dict(params) == {
        "experiment": "tcsvt,content_encoder,static_encoder,static_encoder_wide,static_encoder_macs,no_warp_loss,"
        "tcsvt_window,content_window,static_window,flow_aligned",
        "seed": "0,1,2,3,4",
    }
    assert hydra_node("+sweep=ablation_backbone").sweeper.params["model/flow"] == "pyramid,pwc,dis,zero"
    assert hydra_node().launcher._target_.endswith("BasicLauncher")
    joblib = hydra_node("launcher=joblib").launcher
    assert joblib._target_.endswith("JoblibLauncher") and joblib.n_jobs == 2
    slurm = hydra_node(
        "launcher=submitit_slurm", "hydra.launcher.gpus_per_node=4", "hydra.launcher.partition=gpu"
    ).launcher
    assert slurm._target_.endswith("SlurmLauncher") and slurm.partition == "gpu"
    assert slurm.tasks_per_node == 4 and slurm.timeout_min == 720


def test_ablation_grids_compose_with_a_learning_rate_grid_on_validation() -> None:
    """Five seeds in the main grid; the lr grid (validation only) and the quick grid are cut from it."""
    lr = compose_config(["+sweep=ablation_cpu_lr"])
    assert lr.run_test is False and lr.skip_completed is True and lr.trainer.max_steps == 900
    lr_params = hydra_node("+sweep=ablation_cpu_lr").sweeper.params
    assert lr_params["optim.optimizer.lr"] == "2.5e-4,5e-4,1e-3" and lr_params["seed"] == "0,1"
    assert len(lr_params["experiment"].split(",")) == 10
    quick = hydra_node("+sweep=ablation_quick").sweeper.params
    assert quick["experiment"] == "tcsvt,flow_aligned,static_window,static_encoder" and quick["seed"] == "0,1"
    assert compose_config(["+sweep=ablation_quick"]).trainer.max_steps == 100


def test_a_completed_job_of_the_same_overrides_is_not_run_again(tmp_path: Path) -> None:
    """skip_completed: only a completed metrics.json whose overrides equal this job's (none here) counts."""
    from flowdeblur.runs.status import completed_results
    from flowdeblur.utils.files import write_json_atomic

    assert completed_results(tmp_path) is None
    write_json_atomic(tmp_path / "metrics.json", {"status": "running", "overrides": ""})
    assert completed_results(tmp_path) is None
    write_json_atomic(tmp_path / "metrics.json", {"status": "completed", "overrides": "seed=1", "val/psnr": 1.0})
    assert completed_results(tmp_path) is None
    write_json_atomic(tmp_path / "metrics.json", {"status": "completed", "overrides": "", "val/psnr": 1.0})
    assert completed_results(tmp_path) == {"status": "completed", "overrides": "", "val/psnr": 1.0}
    cfg = compose_config([*TINY_SWEEP, "skip_completed=true"], output_dir=tmp_path)
    assert train(cfg)["val/psnr"] == 1.0  # returned as recorded: nothing trained


def test_a_run_dir_holding_another_jobs_results_is_left_untouched(tmp_path: Path) -> None:
    """A job pointed at a dir whose metrics.json records a completed run of other overrides (a sweep of other
    parameters into an existing sweep dir: job numbers restart at 0) stops before writing anything there."""
    from flowdeblur.runs.status import RunDirTaken
    from flowdeblur.utils.files import write_json_atomic

    record = {"status": "completed", "overrides": "experiment=tcsvt seed=0", "val/psnr": 27.2}
    write_json_atomic(tmp_path / "metrics.json", record)
    cfg = compose_config([*TINY_SWEEP, "skip_completed=true"], output_dir=tmp_path)
    with pytest.raises(RunDirTaken, match="holds the completed run of 'experiment=tcsvt seed=0'"):
        run_job(train, cfg)
    assert json.loads((tmp_path / "metrics.json").read_text()) == record
    assert not (tmp_path / "checkpoints").exists()
    # an evaluation pointed at that training run's dir stops as well, before reading its checkpoint
    from flowdeblur.eval import evaluate

    eval_cfg = compose_config([f"ckpt_path={tmp_path / 'missing.ckpt'}"], config_name="eval", output_dir=tmp_path)
    with pytest.raises(RunDirTaken):
        evaluate(eval_cfg)
    assert json.loads((tmp_path / "metrics.json").read_text()) == record
