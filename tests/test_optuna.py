"""Optuna search on a persistent sqlite storage: trials are recorded, and a resumed search continues the study
(trial numbers, job dirs) instead of starting over."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import optuna
import pytest

from hydra_plugins.flowdeblur_optuna.resumable_sweeper import count_trials, prepare_sqlite_dir
from tests.sweeping import multirun, read_metrics

STUDY = "flowdeblur"


def storage_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'optuna.db'}"


def load(directory: Path) -> optuna.study.Study:
    return optuna.load_study(study_name=STUDY, storage=storage_url(directory))


def test_storage_stack_pins() -> None:
    """optuna 2.10's sqlite storage fails with SQLAlchemy 2 and recent alembic."""
    assert int(version("sqlalchemy").split(".")[0]) < 2
    assert tuple(int(p) for p in version("alembic").split(".")[:2]) < (1, 14)


def test_sqlite_dir_is_created_and_trials_counted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'optuna.db'}"
    prepare_sqlite_dir(url)
    assert (tmp_path / "not" / "yet").is_dir()
    assert count_trials(url, STUDY) == 0
    study = optuna.create_study(study_name=STUDY, storage=url, direction="maximize")
    study.tell(study.ask(), 1.0)
    study.ask()  # a trial left running, as by an interrupted sweep
    assert count_trials(url, STUDY) == 2
    assert count_trials(url, "another") == 0 and count_trials(None, STUDY) == 0


def test_search_runs_then_resumes(tmp_path: Path) -> None:
    first = multirun(tmp_path, "hparams_search=optuna", "hydra.sweeper.n_trials=3")
    assert first.returncode == 0, first.output[-3000:]
    study = load(tmp_path)
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    for trial in study.trials:
        metrics = read_metrics(tmp_path / str(trial.number))
        assert trial.value == pytest.approx(metrics["val/psnr"])
        assert f"optim.optimizer.lr={trial.params['optim.optimizer.lr']}" in metrics["overrides"]
    before = {n: read_metrics(tmp_path / str(n)) for n in range(3)}

    resumed = multirun(tmp_path, "hparams_search=optuna", "hydra.sweeper.n_trials=1")
    assert resumed.returncode == 0, resumed.output[-3000:]
    study = load(tmp_path)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    last = study.trials[3]
    assert last.value == pytest.approx(read_metrics(tmp_path / "3")["val/psnr"])
    assert last.params != study.trials[0].params
    assert {n: read_metrics(tmp_path / str(n)) for n in range(3)} == before
    assert (tmp_path / "optimization_results.yaml").is_file()
