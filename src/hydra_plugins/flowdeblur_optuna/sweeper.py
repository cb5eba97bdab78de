"""A Hydra sweeper on Optuna's ask/tell API: ``hydra/sweeper=flowdeblur_optuna`` (``hparams_search=optuna``).

- The study lives in a persistent SQLAlchemy storage; a sweep started again on the same storage resumes it until
  the study holds ``n_trials`` trials. Trials left RUNNING by a killed sweep are marked FAIL and their parameters
  proposed again (``retry_interrupted``).
- Job ``<n>`` (``hydra.job.num``, the job dir name) runs trial ``n``; the job reports intermediate values to that
  trial through ``flowdeblur.callbacks.optuna_pruning.OptunaPruning``, which also stops a pruned training. The
  trial is then told PRUNED and keeps its last reported value.
- Objectives: the job's return value, or, with ``objectives``, those metrics of the job's ``metrics.json``
  (several for a multi-objective study, e.g. ``[val/psnr, macs]``).

Hydra imports every public module of ``hydra_plugins`` at start-up (before registering it in ``sys.modules``,
hence no ``from __future__ import annotations`` here); Optuna is imported only when a sweep runs.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class OptunaSweeperConf:
    """``hydra.sweeper`` options (``conf/hparams_search/optuna.yaml`` documents them)."""

    _target_: str = "hydra_plugins.flowdeblur_optuna.sweeper.OptunaSweeper"
    _recursive_: bool = False
    storage: Any = None
    study_name: str = "flowdeblur"
    direction: Any = "maximize"
    objectives: Any = None
    n_trials: int = 20
    n_jobs: int = 1
    max_failure_rate: float = 1.0
    retry_interrupted: bool = True
    sampler: Any = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler"})
    pruner: Any = field(default_factory=lambda: {"_target_": "optuna.pruners.NopPruner"})
    params: Any = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="flowdeblur_optuna", node=OptunaSweeperConf, provider="flowdeblur"
)


class OptunaSweeper(Sweeper):
    """Runs ``n_trials`` trials of an Optuna study, ``n_jobs`` at a time through the configured launcher."""

    def __init__(
        self,
        storage: Any,
        study_name: str,
        direction: Any,
        objectives: Any,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        retry_interrupted: bool,
        sampler: Any,
        pruner: Any,
        params: Any,
    ) -> None:
        self.storage_url = storage
        self.study_name = study_name
        self.directions = [str(d) for d in direction] if OmegaConf.is_list(direction) else [str(direction)]
        self.objectives = list(objectives) if objectives is not None else None
        self.n_trials = n_trials
        self.n_jobs = max(1, n_jobs)
        self.max_failure_rate = max_failure_rate
        self.retry = retry_interrupted
        self.sampler_cfg = sampler
        self.pruner_cfg = pruner
        self.params = params or {}
        self.launcher: Launcher | None = None
        self.sweep_dir = Path(".")
        if self.objectives is not None and len(self.objectives) != len(self.directions):
            raise ValueError(
                f"hydra.sweeper.objectives: {self.objectives} needs one direction each, got direction={self.directions}"
            )
        if len(self.directions) > 1 and self.objectives is None:
            raise ValueError(
                "hydra.sweeper.objectives: a multi-objective study reads its objectives from the job's "
                "metrics.json: name one metric per direction, e.g. [val/psnr, macs]"
            )

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.sweep_dir = Path(str(config.hydra.sweep.dir))

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        from hydra_plugins.flowdeblur_optuna import _study
        from hydra_plugins.flowdeblur_optuna._search_space import override_strings, parse_search_space

        distributions, fixed = parse_search_space([*(f"{k}={v}" for k, v in self.params.items()), *arguments])
        storage = _study.open_storage(self.storage_url)
        study = optuna.create_study(
            storage=storage,
            study_name=self.study_name,
            directions=[_direction(d) for d in self.directions],
            load_if_exists=True,
        )
        _study.check_directions(study, self.directions)
        study.sampler = self._sampler(len(study.trials))
        study.pruner = instantiate(self.pruner_cfg)
        if len(self.directions) > 1 and not isinstance(study.pruner, optuna.pruners.NopPruner):
            raise ValueError(
                "hydra.sweeper.pruner: Optuna prunes single-objective studies only (hparams_search/pruner=none)"
            )
        if self.retry:
            _study.retry_interrupted(study, storage)
        log.info(
            "Optuna study %r in %s: %d trials so far, searching %s",
            study.study_name,
            self.storage_url,
            sum(map(_study.counted, study.trials)),
            sorted(distributions),
        )
        while (to_go := self.n_trials - sum(map(_study.counted, study.get_trials(deepcopy=False)))) > 0:
            trials = [study.ask(distributions) for _ in range(min(self.n_jobs, to_go))]
            returns = self._launch(trials, [override_strings(t.params, fixed) for t in trials])
            told = [self._tell(study, storage, trial, ret) for trial, ret in zip(trials, returns, strict=True)]
            failures = told.count(False)
            if failures > self.max_failure_rate * len(returns):
                raise RuntimeError(
                    f"{failures} of {len(returns)} trials failed "
                    f"(hydra.sweeper.max_failure_rate={self.max_failure_rate})"
                )
        self._finish(study)

    def _sampler(self, n_existing: int) -> Any:
        """The configured sampler; a seeded one resumed with ``n_existing`` trials gets seed + n_existing so that
        it does not propose the first trials again."""
        cfg = OmegaConf.to_container(self.sampler_cfg)
        assert isinstance(cfg, dict)
        if n_existing and cfg.get("seed") is not None:
            cfg["seed"] = int(cfg["seed"]) + n_existing
        return instantiate(cfg)

    def _launch(self, trials: Sequence[Any], overrides: list[list[str]]) -> list[JobReturn]:
        """Launch one job per trial, numbered as the trials (consecutive numbers go in one batch)."""
        assert self.launcher is not None
        first = trials[0].number
        if [t.number for t in trials] == list(range(first, first + len(trials))):
            return list(self.launcher.launch([tuple(o) for o in overrides], initial_job_idx=first))
        launch = self.launcher.launch
        return [ret for t, o in zip(trials, overrides, strict=True) for ret in launch([tuple(o)], t.number)]

    def _tell(self, study: Any, storage: Any, trial: Any, ret: JobReturn) -> bool:
        """Record the job's outcome in its trial; False for a failed trial."""
        from optuna.trial import TrialState

        from hydra_plugins.flowdeblur_optuna import _study
        from hydra_plugins.flowdeblur_optuna.trial_attrs import JOB_DIR, MACS, PRUNED_AT_STEP

        job_dir = Path(str(ret.hydra_cfg.hydra.runtime.output_dir)) if ret.hydra_cfg else self.sweep_dir
        metrics = _read_metrics(job_dir / "metrics.json")
        trial.set_user_attr(JOB_DIR, str(job_dir))
        if isinstance(metrics.get("macs"), int | float):
            trial.set_user_attr(MACS, metrics["macs"])
        if ret.status != JobStatus.COMPLETED:
            log.warning("trial %d failed: %s", trial.number, ret._return_value)
            study.tell(trial, state=TrialState.FAIL)
            return False
        if PRUNED_AT_STEP in _study.fresh(storage, trial).user_attrs:
            study.tell(trial, state=TrialState.PRUNED)
            return True
        names = self.objectives
        raw = [metrics.get(n) for n in names] if names else [ret.return_value]
        values = [_to_float(v) for v in raw]
        if not _study.is_finite(values):
            log.warning(
                "trial %d failed: objectives %s = %s (see %s)",
                trial.number,
                names or "return value",
                raw,
                job_dir / "metrics.json",
            )
            study.tell(trial, state=TrialState.FAIL)
            return False
        study.tell(trial, values)
        return True

    def _finish(self, study: Any) -> None:
        from flowdeblur.utils.files import write_text_atomic
        from hydra_plugins.flowdeblur_optuna import _study

        out = _study.results(study)
        write_text_atomic(self.sweep_dir / "optimization_results.yaml", OmegaConf.to_yaml(OmegaConf.create(out)))
        log.info("Optuna study %r: %s", study.study_name, _study.budget_line(study.get_trials(deepcopy=False)))
        if "best_params" in out:
            log.info("best trial %d: %s = %s", out["best_trial"], out["best_params"], out["best_value"])
        elif "best_trials" in out:
            log.info("Pareto front: trials %s", [t["number"] for t in out["best_trials"]])


def _direction(name: str) -> Any:
    from optuna.study import StudyDirection

    if name.upper() not in ("MAXIMIZE", "MINIMIZE"):
        raise ValueError(f"hydra.sweeper.direction: expected maximize or minimize (or a list of them), got {name!r}")
    return StudyDirection[name.upper()]


def _to_float(value: Any) -> float:
    """A job's objective value as a float (NaN for a missing or non-numeric one)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _read_metrics(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
