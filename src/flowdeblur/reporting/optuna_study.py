"""The Optuna study of a sweep dir (``<sweep dir>/optuna.db``): its trials, the best parameters, parameter
importances and a plot (optimisation history and importances).

The study name is the sweep's ``hydra.sweeper.study_name`` (from ``multirun.yaml`` or a job's
``.hydra/hydra.yaml``; default ``flowdeblur``). Importances come from
:func:`optuna.importance.get_param_importances`: fANOVA when scikit-learn is installed, else PED-ANOVA.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from omegaconf import OmegaConf

from flowdeblur.reporting.jobs import ReportInputError
from flowdeblur.reporting.labels import short_name
from flowdeblur.reporting.table import Table

DB = "optuna.db"
DEFAULT_STUDY = "flowdeblur"
STEP_ATTRS = ("steps_run", "steps_planned")


@dataclass
class StudyReport:
    """A loaded study. ``importances``: one dict per objective (parameter -> importance, summing to 1);
    ``note``: why importances are missing, if they are."""

    sweep_dir: Path
    name: str
    directions: list[str]
    trials: list[Any]
    importances: list[dict[str, float]] = field(default_factory=list)
    evaluator: str = ""
    note: str = ""

    @property
    def complete(self) -> list[Any]:
        return [t for t in self.trials if t.state.name == "COMPLETE"]

    def counts(self) -> str:
        states: dict[str, int] = {}
        for t in self.trials:
            states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
        return ", ".join(f"{n} {s}" for s, n in states.items()) or "none"

    @property
    def best(self) -> list[Any]:
        """The best trial (one objective) or the Pareto front (several), among completed trials."""
        if not self.complete:
            return []
        if len(self.directions) > 1:
            return [t for t in self.complete if not any(_dominates(o, t, self.directions) for o in self.complete)]
        sign = 1.0 if self.directions[0] == "maximize" else -1.0
        return [max(self.complete, key=lambda t: sign * t.value)]


def _dominates(a: Any, b: Any, directions: list[str]) -> bool:
    signs = [1.0 if d == "maximize" else -1.0 for d in directions]
    better = [s * x >= s * y for s, x, y in zip(signs, a.values, b.values, strict=True)]
    return all(better) and a.values != b.values


def study_name(sweep_dir: Path) -> str:
    """``hydra.sweeper.study_name`` of the sweep (``multirun.yaml``, else a job's ``.hydra/hydra.yaml``)."""
    candidates = [sweep_dir / "multirun.yaml", *sorted(sweep_dir.glob("*/.hydra/hydra.yaml"))[:1]]
    for path in candidates:
        if path.is_file():
            name = OmegaConf.select(
                OmegaConf.load(path), "hydra.sweeper.study_name", default=None, throw_on_resolution_failure=False
            )
            if name:
                return str(name)
    return DEFAULT_STUDY


def _importances(study: Any, objectives: int) -> tuple[list[dict[str, float]], str, str]:
    import optuna

    try:
        import sklearn  # noqa: F401  (fANOVA, Optuna's default evaluator, needs it)

        evaluator, name = None, "fANOVA"
    except ImportError:
        evaluator, name = optuna.importance.PedAnovaImportanceEvaluator(), "PED-ANOVA"
    results = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(objectives):
                target = (lambda t, i=i: t.values[i]) if objectives > 1 else None
                results.append(dict(optuna.importance.get_param_importances(study, evaluator=evaluator, target=target)))
    except (RuntimeError, ValueError, ZeroDivisionError) as err:
        return [], name, f"no importances: {err}"
    if not any(results):
        return [], name, "no importances: no parameter varies between completed trials"
    return results, name, ""


def load_study_report(sweep_dir: str | Path) -> StudyReport:
    """Load the study of ``sweep_dir``; raises :class:`ReportInputError` naming the file when it cannot."""
    import optuna

    sweep_dir = Path(sweep_dir)
    storage = f"sqlite:///{(sweep_dir / DB).resolve()}"
    name = study_name(sweep_dir)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage=storage)]
    except Exception as err:  # noqa: BLE001  (any storage error: one message naming the file)
        raise ReportInputError(f"'{sweep_dir / DB}' is not a readable Optuna storage: {err}") from err
    if name not in names:
        if len(names) != 1:
            raise ReportInputError(
                f"'{sweep_dir / DB}' holds no study '{name}' (hydra.sweeper.study_name); it holds {names}"
            )
        name = names[0]
    study = optuna.load_study(study_name=name, storage=storage)
    directions = [d.name.lower() for d in study.directions]
    report = StudyReport(sweep_dir, name, directions, list(study.trials))
    if len(report.complete) >= 2:
        report.importances, report.evaluator, report.note = _importances(study, len(directions))
    elif report.complete:
        report.note = "no importances: they need at least 2 completed trials"
    return report


def find_studies(paths: list[Path]) -> list[Path]:
    """The sweep dirs among ``paths`` (and directly below them) that hold an ``optuna.db``."""
    found: dict[Path, Path] = {}
    for path in paths:
        for candidate in (path, *sorted(path.glob(f"*/{DB}"))):
            db = candidate if candidate.name == DB else candidate / DB
            if db.is_file():
                found.setdefault(db.parent.resolve(), db.parent)
    return list(found.values())


def _number(value: Any) -> str:
    """A parameter: 4 significant digits."""
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _values(trial: Any) -> list[str]:
    """The trial's objective values, 5 significant digits kept (``28.000``)."""
    values = trial.values if trial.values is not None else [math.nan]
    return ["–" if math.isnan(v) else f"{v:#.5g}" for v in values]


def trials_table(report: StudyReport) -> Table:
    """trial | state | value(s) | each parameter | steps (run/planned, when the sweeper stored them)."""
    params = list(dict.fromkeys(p for t in report.trials for p in t.params))
    objectives = ["value"] if len(report.directions) == 1 else [f"value {i}" for i in range(len(report.directions))]
    has_steps = any(a in t.user_attrs for t in report.trials for a in STEP_ATTRS)
    header = ["trial", "state", *objectives, *(short_name(p) for p in params), *(["steps"] if has_steps else [])]
    rows = []
    for t in report.trials:
        values = _values(t) + ["–"] * (len(objectives) - len(_values(t)))
        steps = "/".join(str(t.user_attrs.get(a, "?")) for a in STEP_ATTRS)
        rows.append(
            [
                str(t.number),
                t.state.name.lower(),
                *values[: len(objectives)],
                *(_number(t.params.get(p, "–")) for p in params),
                *([steps] if has_steps else []),
            ]
        )
    return Table(
        f"Optuna study '{report.name}' ({', '.join(report.directions)}): {report.counts()}", header, rows, labels=2
    )


def summary_lines(report: StudyReport) -> list[str]:
    """Plain lines: the best trial(s) with their parameters, and the importances (or why there are none)."""
    if not report.complete:
        return [
            f"Optuna study '{report.name}' in {report.sweep_dir / DB}: no completed trial yet "
            f"({len(report.trials)} trials: {report.counts()})"
        ]
    lines = []
    for t in report.best:
        params = ", ".join(f"{short_name(k)}={_number(v)}" for k, v in t.params.items())
        lines.append(f"best trial {t.number}: value {' / '.join(_values(t))}; {params}")
    for i, importances in enumerate(report.importances):
        which = f" (objective {i})" if len(report.importances) > 1 else ""
        ranked = ", ".join(f"{short_name(k)} {v:.2f}" for k, v in importances.items())
        lines.append(f"importances{which} ({report.evaluator}): {ranked}")
    if report.note:
        lines.append(report.note)
    return lines


def study_figure(report: StudyReport) -> Figure | None:
    """Left: each completed trial's (first) objective and the best so far; right: importances."""
    if not report.complete:
        return None
    panels = 2 if report.importances else 1
    fig = Figure(figsize=(4.2 * panels, 3.2), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    history = axes[0]
    done = sorted(report.complete, key=lambda t: t.number)
    values = [t.values[0] for t in done]
    pick = max if report.directions[0] == "maximize" else min
    best = [pick(values[: i + 1]) for i in range(len(values))]
    history.plot([t.number for t in done], values, "o", color="#3b6ea5", markersize=4, label="trial")
    history.step([t.number for t in done], best, where="post", color="#111111", linewidth=1.2, label="best so far")
    history.set_xlabel("trial")
    history.set_ylabel("objective" if len(report.directions) == 1 else "objective 0")
    history.set_title(f"study '{report.name}' ({report.directions[0]})", fontsize=9)
    history.legend(fontsize=7, frameon=False)
    if report.importances:
        ranked = sorted(report.importances[0].items(), key=lambda kv: kv[1])
        axes[1].barh([short_name(k) for k, _ in ranked], [v for _, v in ranked], color="#3b6ea5")
        axes[1].set_xlim(0, 1)
        axes[1].set_xlabel(f"importance ({report.evaluator})")
        axes[1].set_title("parameter importances", fontsize=9)
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    return fig
