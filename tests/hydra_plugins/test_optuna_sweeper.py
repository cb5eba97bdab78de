"""The project's Optuna sweeper: search-space syntax, persistent studies resumed after a kill, pruning through the
training callback, multi-objective studies, and studies that optuna-dashboard opens."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from flowdeblur.config import CONF_DIR
from hydra_plugins.flowdeblur_optuna._search_space import override_strings, parse_search_space
from hydra_plugins.flowdeblur_optuna._study import budget_line, open_storage, retry_interrupted
from tests.distributed.runner import REPO
from tests.helpers import config_options
from tests.sweeping import TINY_SWEEP, multirun, read_metrics

STUDY = "flowdeblur"
GOOD_LR, BAD_LR = 0.001, 0.1  # 4 steps at 0.1 take the tiny model from ~26 dB to ~8 dB
# two validations (steps 4 and 8) per trial; the median pruner starts after one completed trial
PRUNED_SEARCH = [
    "hparams_search=optuna",
    "trainer.max_steps=8",
    "hydra.sweeper.n_trials=6",
    "hydra.sweeper.pruner.n_startup_trials=1",
    f"hydra.sweeper.params={{optim.optimizer.lr: 'choice({GOOD_LR}, {BAD_LR})'}}",
]


def storage_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'optuna.db'}"


def load(directory: Path) -> optuna.study.Study:
    return optuna.load_study(study_name=STUDY, storage=storage_url(directory))


def test_search_space_syntax() -> None:
    space, fixed = parse_search_space(
        [
            "a=choice(1, 2)",
            "b=tag(log, interval(1e-4, 2e-3))",
            "c=range(1, 5)",
            "d=range(0.5, 2.0, 0.5)",
            "e=x,y",
            "f=int(interval(2, 8))",
            "g=tag(log, int(interval(1, 64)))",
            "h=5",
            "a=choice(3, 4)",
            "i=choice([8,16], [16,32])",
        ]
    )
    assert space == {
        "a": CategoricalDistribution([3, 4]),
        "b": FloatDistribution(1e-4, 2e-3, log=True),
        "c": IntDistribution(1, 4),  # Hydra's range excludes its stop
        "d": FloatDistribution(0.5, 1.5, step=0.5),
        "e": CategoricalDistribution(["x", "y"]),
        "f": IntDistribution(2, 8),
        "g": IntDistribution(1, 64, log=True),
        "i": CategoricalDistribution(["[8,16]", "[16,32]"]),
    }
    assert fixed == {"h": "5"}
    assert override_strings({"a": 3, "i": "[8,16]"}, fixed) == ["a=3", "i=[8,16]", "h=5"]
    with pytest.raises(ValueError, match="both searched and fixed"):
        override_strings({"h": 1}, fixed)


@pytest.mark.parametrize("pruner", config_options("hparams_search/pruner"))
def test_every_pruner_option_instantiates(pruner: str) -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", ["hparams_search=optuna", f"hparams_search/pruner={pruner}"], return_hydra_config=True)
    assert isinstance(instantiate(cfg.hydra.sweeper.pruner), optuna.pruners.BasePruner)
    assert cfg.hydra.sweeper._target_ == "hydra_plugins.flowdeblur_optuna.sweeper.OptunaSweeper"
    callback = OmegaConf.to_container(cfg.callbacks.optuna_pruning, resolve=False)
    assert isinstance(callback, dict) and callback["pruner"] == "${hydra:sweeper.pruner}"


def test_interrupted_trial_fails_and_is_proposed_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'optuna.db'}"
    storage = open_storage(url)
    study = optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")
    space = {"x": FloatDistribution(0.0, 1.0)}
    study.tell(study.ask(space), 1.0)
    killed = study.ask(space)  # left RUNNING, as by a killed sweep
    assert retry_interrupted(study, storage) == [killed.number]
    trials = study.get_trials()
    assert trials[1].state == TrialState.FAIL and trials[1].user_attrs["interrupted"] is True
    assert trials[2].state == TrialState.WAITING and trials[2].user_attrs["retry_of"] == killed.number
    again = study.ask(space)
    assert again.number == 2 and again.params == killed.params
    with pytest.raises(ValueError, match="hydra.sweeper.storage"):
        open_storage("optuna.db")


def test_budget_line_counts_steps_of_pruned_trials(tmp_path: Path) -> None:
    study = optuna.create_study(storage=open_storage(storage_url(tmp_path)), direction="maximize")
    for steps_run, state in ((10, TrialState.COMPLETE), (4, TrialState.PRUNED), (2, TrialState.PRUNED)):
        trial = study.ask()
        trial.set_user_attr("steps_run", steps_run)
        trial.set_user_attr("steps_planned", 10)
        trial.report(1.0, steps_run)
        study.tell(trial, 1.0 if state == TrialState.COMPLETE else None, state=state)
    line = budget_line(study.trials)
    assert line == "3 trials (1 complete, 2 pruned); steps run 16 of 30 planned: pruning saved 14 (47%)"


def _enqueue_rigged(directory: Path) -> None:
    """The study the rigged search resumes: good, bad, good, bad, ... learning rates in this order."""
    study = optuna.create_study(study_name=STUDY, storage=open_storage(storage_url(directory)), direction="maximize")
    for lr in (GOOD_LR, BAD_LR, GOOD_LR, BAD_LR, GOOD_LR, BAD_LR):
        study.enqueue_trial({"optim.optimizer.lr": lr})


def _start_and_kill_during(directory: Path, job: int, timeout: float = 180) -> str:
    """Start the rigged search and SIGKILL it (all its processes) once job ``job`` has started training."""
    args = [sys.executable, "-m", "flowdeblur.train", "-m", *TINY_SWEEP, *PRUNED_SEARCH, f"hydra.sweep.dir={directory}"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.Popen(
        args, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    try:
        while not (directory / str(job) / "metrics.json").is_file():
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, f"job {job} did not start within {timeout} s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.communicate()[0]


def _dashboard_get(app: Any, path: str) -> dict[str, Any]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), (status, body[:500])
    return json.loads(body)


def test_pruned_search_resumes_after_kill_and_opens_in_dashboard(tmp_path: Path) -> None:
    _enqueue_rigged(tmp_path)
    _start_and_kill_during(tmp_path, job=2)
    killed = load(tmp_path).trials[2]
    assert killed.state == TrialState.RUNNING, "the sweep was to be killed while trial 2 trained"

    resumed = multirun(tmp_path, *PRUNED_SEARCH)
    assert resumed.returncode == 0, resumed.output[-3000:]
    trials = load(tmp_path).trials
    states = [t.state for t in trials]
    assert states == [
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
        TrialState.PRUNED,
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.COMPLETE,
    ], states
    # the interrupted trial's parameters ran again as the last trial
    assert trials[2].user_attrs["interrupted"] is True
    assert trials[6].params == trials[2].params and trials[6].user_attrs["retry_of"] == 2
    for trial in trials:
        attrs = trial.user_attrs
        if trial.state == TrialState.FAIL:
            continue
        metrics = read_metrics(tmp_path / str(trial.number))
        assert attrs["job_dir"] == str(tmp_path / str(trial.number))
        assert attrs["macs"] == metrics["macs"] and attrs["steps_planned"] == 8
        assert f"optim.optimizer.lr={trial.params['optim.optimizer.lr']}" in metrics["overrides"]
        if trial.state == TrialState.PRUNED:  # stopped at the first validation, keeps the value reported there
            assert trial.params["optim.optimizer.lr"] == BAD_LR
            assert attrs["pruned_at_step"] == attrs["steps_run"] == 4
            assert trial.value == trial.intermediate_values[4] < 15
        else:
            assert trial.value == pytest.approx(metrics["val/psnr"]) and trial.value > 20
            assert attrs["steps_run"] == 8 and set(trial.intermediate_values) == {4, 8}
    assert "steps run 36 of 48 planned: pruning saved 12 (25%)" in resumed.output
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    best = max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert results["best_trial"] == best.number and results["best_params"] == best.params

    from optuna_dashboard import wsgi

    app = wsgi(storage_url(tmp_path))
    (summary,) = _dashboard_get(app, "/api/studies")["study_summaries"]
    assert summary["study_name"] == STUDY
    detail = _dashboard_get(app, f"/api/studies/{summary['study_id']}")
    assert [t["state"] for t in detail["trials"]] == [s.name.capitalize() for s in states]


def test_multi_objective_search_maximises_psnr_and_minimises_macs(tmp_path: Path) -> None:
    run = multirun(
        tmp_path,
        "hparams_search=optuna_pareto",
        "hydra.sweeper.n_trials=2",
        "trainer.max_steps=2",
        "model.deblurrer.channels=choice([8,8,16,16], [8,16,16,32])",
    )
    assert run.returncode == 0, run.output[-3000:]
    study = optuna.load_study(study_name="flowdeblur_pareto", storage=storage_url(tmp_path))
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for trial in study.trials:
        metrics = read_metrics(tmp_path / str(trial.number))
        assert trial.state == TrialState.COMPLETE
        assert trial.values == pytest.approx([metrics["val/psnr"], metrics["macs"]])
    front = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())["best_trials"]
    assert {t["number"] for t in front} == {t.number for t in study.best_trials} != set()
