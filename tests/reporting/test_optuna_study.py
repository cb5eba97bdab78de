"""The report of an Optuna sweep dir: trials, best parameters, importances and a plot, read with
``optuna.load_study`` from ``<sweep dir>/optuna.db`` under the sweep's study name."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from flowdeblur.report import main
from flowdeblur.reporting.optuna_study import load_study_report, study_name, summary_lines
from tests.sweeping import write_job


def value(lr: float, blocks: int) -> float:
    return 27.0 + 0.5 * blocks - 100 * abs(lr - 5e-4)


def make_study(sweep: Path, trials: int, name: str = "search", directions: tuple[str, ...] = ("maximize",)) -> None:
    """``trials`` completed trials (job dir <n> = trial n, with steps in user attributes) and one running."""
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text(f"hydra:\n  sweeper:\n    study_name: {name}\n")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{sweep / 'optuna.db'}", directions=directions,
                                sampler=optuna.samplers.RandomSampler(seed=0))  # fmt: skip
    for num in range(trials):
        trial = study.ask()
        lr = trial.suggest_float("optim.optimizer.lr", 1e-4, 2e-3, log=True)
        blocks = trial.suggest_categorical("model.deblurrer.blocks", [1, 2])
        trial.set_user_attr("steps_run", 100)
        trial.set_user_attr("steps_planned", 100)
        psnr = value(lr, blocks)
        write_job(
            sweep,
            num,
            [f"optim.optimizer.lr={lr}", f"model.deblurrer.blocks={blocks}"],
            {"status": "completed", "val/psnr": psnr, "val/psnr_input": 25.0, "macs": blocks * 1e9},
        )
        study.tell(trial, psnr if len(directions) == 1 else [psnr, blocks * 1e9])
    study.ask().suggest_float("optim.optimizer.lr", 1e-4, 2e-3, log=True)  # a trial still running


def test_trials_best_parameters_importances_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "multirun" / "2026-01-31" / "12-00-00"
    make_study(sweep, 6)
    assert study_name(sweep) == "search"
    study = load_study_report(sweep)
    (best,) = study.best
    assert best.value == max(t.value for t in study.complete)
    assert len(study.trials) == 7 and len(study.complete) == 6
    (importances,) = study.importances
    assert set(importances) == {"optim.optimizer.lr", "model.deblurrer.blocks"}
    assert sum(importances.values()) == pytest.approx(1.0)
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    lr = f"{best.params['optim.optimizer.lr']:.4g}"
    assert (
        f"best trial {best.number}: value {best.value:#.5g}; lr={lr}, blocks={best.params['model.deblurrer.blocks']}"
        in out
    )
    assert "importances (" in out and "6 complete, 1 running" in out and "100/100" in out
    assert "Optuna study: " in (sweep / "report.md").read_text()
    assert {p.suffix for p in sweep.glob("optuna.*") if p.name != "optuna.db"} == {".png", ".pdf", ".svg"}
    assert (sweep / "optuna.png").stat().st_size > 10_000


def test_a_study_without_completed_trials_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep"
    make_study(sweep, 0)
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    assert out.startswith("Optuna study 'search' in ") and "no completed trial yet (1 trials: 1 running)" in out


def test_several_objectives_give_a_pareto_front(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    make_study(sweep, 5, directions=("maximize", "minimize"))
    study = load_study_report(sweep)
    front = study.best
    assert front and all(not (o.values[0] >= t.values[0] and o.values[1] <= t.values[1] and o.values != t.values)
                         for t in front for o in study.complete)  # fmt: skip
    assert len(summary_lines(study)) >= len(front)


def test_unknown_study_name_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep"
    make_study(sweep, 1)
    optuna.create_study(study_name="other", storage=f"sqlite:///{sweep / 'optuna.db'}")
    (sweep / "multirun.yaml").write_text("hydra:\n  sweeper:\n    study_name: missing\n")
    assert main([str(sweep)]) == 2
    err = capsys.readouterr().err
    assert "optuna.db' holds no study 'missing'" in err and "'search'" in err
