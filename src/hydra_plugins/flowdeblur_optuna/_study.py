"""The persistent Optuna study of a sweep: open or resume it, retry interrupted trials, summarise it."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.flowdeblur_optuna.trial_attrs import INTERRUPTED, RETRY_OF, STEPS_PLANNED, STEPS_RUN

log = logging.getLogger(__name__)


def open_storage(url: str) -> RDBStorage:
    """The SQLAlchemy storage at ``url``; the directory of an sqlite file is created first."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(
            f"hydra.sweeper.storage: expected an SQLAlchemy URL such as sqlite:///<dir>/optuna.db, got {url!r}"
        )
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    return RDBStorage(url)


def check_directions(study: optuna.Study, directions: Sequence[str]) -> None:
    """Refuse to resume a study created with other objectives."""
    stored = [d.name.lower() for d in study.directions]
    if stored != [d.lower() for d in directions]:
        raise ValueError(
            f"hydra.sweeper.direction: study {study.study_name!r} was created with directions "
            f"{stored}, the config asks for {list(directions)}"
        )


def retry_interrupted(study: optuna.Study, storage: RDBStorage) -> list[int]:
    """Mark the trials left RUNNING (by a killed sweep) as FAIL and enqueue their parameters again.

    Returns the numbers of the interrupted trials. Only for a study no other process is working on.
    """
    interrupted = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in interrupted:
        storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
        log.warning(
            "trial %d was interrupted: marked FAIL, its parameters %s are proposed again", trial.number, trial.params
        )
    return [t.number for t in interrupted]


def counted(trial: FrozenTrial) -> bool:
    """Whether ``trial`` counts towards ``n_trials``: started, and not an interrupted one proposed again."""
    return trial.state != TrialState.WAITING and not trial.user_attrs.get(INTERRUPTED, False)


def fresh(storage: RDBStorage, trial: optuna.Trial) -> FrozenTrial:
    """``trial`` as stored now (its job may have written intermediate values and user attributes)."""
    return storage.get_trial(trial._trial_id)


def is_finite(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def budget_line(trials: Sequence[FrozenTrial]) -> str:
    """``<n> trials (<count> <state>, ...); steps run <r> of <p> planned: pruning saved <p - r> (<%>)``.

    Interrupted trials (proposed again) are left out; steps count only for trials that stored both step counts.
    """
    trials = [t for t in trials if not t.user_attrs.get(INTERRUPTED, False)]
    states = Counter(t.state.name.lower() for t in trials)
    line = f"{len(trials)} trials ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})"
    measured = [t for t in trials if STEPS_RUN in t.user_attrs and STEPS_PLANNED in t.user_attrs]
    planned = sum(int(t.user_attrs[STEPS_PLANNED]) for t in measured)
    if not planned:
        return line
    run = sum(int(t.user_attrs[STEPS_RUN]) for t in measured)
    return f"{line}; steps run {run} of {planned} planned: pruning saved {planned - run} ({1 - run / planned:.0%})"


def results(study: optuna.Study) -> dict[str, Any]:
    """Best trial (one objective) or Pareto front (several), as written to ``optimization_results.yaml``."""
    out: dict[str, Any] = {
        "name": "optuna",
        "study_name": study.study_name,
        "directions": [d.name.lower() for d in study.directions],
    }
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return out
    if len(study.directions) == 1:
        best = study.best_trial
        out.update(best_trial=best.number, best_params=best.params, best_value=best.value)
    else:
        out["best_trials"] = [{"number": t.number, "params": t.params, "values": t.values} for t in study.best_trials]
    return out
