"""Hydra's Optuna sweeper made resumable on a persistent storage.

Hydra only instantiates plugins from the ``hydra_plugins`` namespace, hence this module's location. The stock
sweeper already creates its study with ``load_if_exists=True``; this subclass adds what a resumed sweep needs:

- the directory of an sqlite storage is created before Optuna opens it (the default storage lives in the sweep
  dir, which Hydra creates only when the first job starts);
- job numbers continue after the trials already in the study, so job dir ``<sweep dir>/<n>`` holds trial ``n``
  and a resumed sweep never overwrites the jobs of an earlier one;
- a resumed sampler is reseeded: a seeded sampler would otherwise propose the first trials' parameters again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper


def prepare_sqlite_dir(storage: Any) -> None:
    """Create the parent directory of an ``sqlite:///<file>`` storage URL (other URLs are left alone)."""
    if not isinstance(storage, str) or not storage.startswith("sqlite"):
        return
    from sqlalchemy.engine import make_url

    database = make_url(storage).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def count_trials(storage: Any, study_name: str | None) -> int:
    """Number of trials of ``study_name`` already in ``storage`` (0 for a new study or in-memory storage)."""
    if storage is None or study_name is None:
        return 0
    import optuna

    summaries = optuna.get_all_study_summaries(storage=storage)
    return next((s.n_trials for s in summaries if s.study_name == study_name), 0)


class ResumableOptunaSweeper(OptunaSweeper):
    """:class:`OptunaSweeper` creating its sqlite directory up front, with job numbers = trial numbers."""

    def sweep(self, arguments: list[str]) -> None:
        impl = self.sweeper
        prepare_sqlite_dir(impl.storage)
        impl.job_idx = count_trials(impl.storage, impl.study_name)
        if impl.job_idx:
            impl.sampler.reseed_rng()
        return super().sweep(arguments)
