"""A job's status in its ``metrics.json``: ``running`` while it trains, then ``completed`` or ``failed``.

In a multirun (sweeps, Optuna) a failing job is recorded and the sweep goes on; in a single run the error is
recorded and re-raised.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from flowdeblur.utils.files import write_json_atomic

log = logging.getLogger(__name__)


def job_overrides() -> list[str]:
    """The job's command-line and sweep overrides (empty outside a Hydra app)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def is_multirun() -> bool:
    """True inside a job launched by ``-m`` (a sweeper)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _completed_record(out_dir: Path) -> dict[str, Any] | None:
    """``<out_dir>/metrics.json`` when it records a completed run, else None."""
    try:
        results = json.loads((out_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) and results.get("status") == "completed" else None


def completed_results(out_dir: Path) -> dict[str, Any] | None:
    """The results in ``<out_dir>/metrics.json`` when it records a completed run of this job's overrides, else
    None (a resumed sweep trains only the jobs still missing)."""
    results = _completed_record(out_dir)
    return results if results is not None and results.get("overrides") == " ".join(job_overrides()) else None


class RunDirTaken(ValueError):
    """The run dir holds the completed results of a job with other overrides."""


def check_own_run_dir(out_dir: Path) -> None:
    """Refuse to write into ``out_dir`` when its ``metrics.json`` records a completed training run of other
    overrides (e.g. a sweep of other parameters pointed at an existing ``hydra.sweep.dir``, whose job numbers
    restart at 0, or an evaluation pointed at a training run's dir): nothing of that run is overwritten. Raises
    :class:`RunDirTaken`."""
    results, ours = _completed_record(out_dir), " ".join(job_overrides())
    if results is not None and results.get("overrides") != ours:
        raise RunDirTaken(
            f"{out_dir} holds the completed run of '{results.get('overrides')}', not of '{ours}': give this run "
            "another directory (hydra.run.dir, or hydra.sweep.dir for a multirun); nothing was written"
        )


@rank_zero_only
def mark_running(out_dir: Path) -> None:
    """Write ``metrics.json`` with status ``running`` and the job's overrides (replaced when the job ends)."""
    write_json_atomic(out_dir / "metrics.json", {"status": "running", "overrides": " ".join(job_overrides())})


@rank_zero_only
def record_failure(out_dir: Path, error: BaseException, elapsed_s: float) -> None:
    """Write ``metrics.json`` with status ``failed``, the error and its traceback."""
    write_json_atomic(
        out_dir / "metrics.json",
        {
            "status": "failed",
            "error": f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(error)),
            "overrides": " ".join(job_overrides()),
            "time/failed_after_s": elapsed_s,
        },
    )


def run_job(
    job: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig, on_failure: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run ``job(cfg)``; on an error record it in ``<paths.output_dir>/metrics.json``, then call ``on_failure``
    (e.g. to close the job's W&B run as failed).

    Returns the job's results, or ``{"status": "failed", "error": ...}`` for an ``Exception`` inside a
    multirun; re-raises in a single run and for interruptions (``KeyboardInterrupt``).
    """
    out_dir = Path(cfg.paths.output_dir)
    start = time.perf_counter()
    try:
        return job(cfg)
    except BaseException as err:
        try:
            if not isinstance(err, RunDirTaken):  # that metrics.json belongs to another run
                record_failure(out_dir, err, time.perf_counter() - start)
        except OSError as write_error:  # e.g. the run dir itself is unwritable: report the original error
            log.error("could not record the failure in %s: %s", out_dir / "metrics.json", write_error)
        if on_failure is not None:
            on_failure()
        if not (isinstance(err, Exception) and is_multirun()):
            raise
        log.error(
            "job failed (recorded in %s, the sweep goes on): %s: %s", out_dir / "metrics.json", type(err).__name__, err
        )
        return {"status": "failed", "error": f"{type(err).__name__}: {err}"}
