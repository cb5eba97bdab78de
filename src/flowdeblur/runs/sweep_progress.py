"""Progress of a multirun (``make sweep``, ``make ablation``, Optuna): a line when each job starts and one when
it ends (its variant, seed, gain over the blurry input and wall-clock) with the sweep's done/total and an ETA.

Jobs may run in other processes (the joblib launcher), so nothing is counted in memory: the multirun writes its
start, size and swept options to ``<sweep dir>/.sweep.json`` once, and a job that ends counts the job dirs whose
``metrics.json`` says ``completed`` or ``failed`` (:mod:`flowdeblur.runs.status`). A resumed sweep (Optuna, same
sweep dir) thus counts the jobs finished before it, and its ETA uses only the jobs finished since it started.
Where a folder above the sweep dir holds ``.overall.json`` (:mod:`flowdeblur.runs.overall`: the total of several
multiruns, ``make ablation``), job-end lines also show the done/total and ETA of all of them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from flowdeblur.reporting.jobs import find_job_dirs, parse_overrides
from flowdeblur.utils.files import write_json_atomic
from flowdeblur.video.progress import duration

SWEEP_FILE = ".sweep.json"
OVERALL_FILE = ".overall.json"
FINISHED = ("completed", "failed")
log = logging.getLogger("flowdeblur.sweep")


@dataclass(frozen=True)
class Plan:
    """A multirun's start (``time.time()``), number of jobs (None: unknown) and swept options."""

    started: float
    total: int | None
    swept: tuple[str, ...]


def plan_of(hydra: DictConfig) -> tuple[int | None, tuple[str, ...]]:
    """The number of jobs (``sweeper.n_trials``, else the size of the grid of ``sweeper.params`` and the
    command-line overrides; None when it cannot be told) and the swept options of a multirun's ``hydra`` node."""
    params = OmegaConf.select(hydra, "sweeper.params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()] + list(hydra.overrides.task)
    try:
        overrides = OverridesParser.create().parse_overrides(arguments)
    except HydraException:  # e.g. glob(), which needs the config loader
        return None, ()
    last = {o.key_or_group: o.is_sweep_override() for o in overrides}  # the command line wins, as in Hydra
    swept = tuple(key for key, is_swept in last.items() if is_swept)
    n_trials = OmegaConf.select(hydra, "sweeper.n_trials")
    if n_trials is not None:
        return int(n_trials), swept
    try:
        return sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None)), swept
    except HydraException:  # a sweep type the grid cannot enumerate (interval)
        return None, swept


def read_plan(sweep_dir: Path, name: str = SWEEP_FILE) -> Plan | None:
    try:
        data = json.loads((sweep_dir / name).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return Plan(float(data["started"]), data.get("total"), tuple(data.get("swept", ())))


def overall_progress(sweep_dir: Path, now: float) -> str:
    """`` | overall 37/260 done, ETA 5h02m`` from the nearest folder above ``sweep_dir`` that holds
    ``.overall.json``; ``""`` where none does."""
    for folder in Path(sweep_dir).resolve().parents:
        plan = read_plan(folder, OVERALL_FILE)
        if plan is not None:
            return f" | overall {progress(folder, plan, now)}"
    return ""


def variant(overrides: Sequence[str], swept: Sequence[str]) -> tuple[str, str | None]:
    """The job's swept options other than the seed (``experiment=tcsvt model/flow=pwc``; all of its overrides
    when the swept ones are unknown) and its seed."""
    parsed = parse_overrides(overrides)
    shown = [f"{k}={v}" for k, v in parsed.items() if k != "seed" and (not swept or k in swept)]
    return " ".join(shown) or "(defaults)", parsed.get("seed")


def outcome(metrics: dict[str, Any]) -> str:
    """``val gain +1.23 dB`` (restored vs blurry input PSNR), else the error of a failed job."""
    for stage in ("val", "test"):
        if f"{stage}/psnr" in metrics and f"{stage}/psnr_input" in metrics:
            return f"{stage} gain {metrics[f'{stage}/psnr'] - metrics[f'{stage}/psnr_input']:+.2f} dB"
    if metrics.get("error"):
        return str(metrics["error"]).splitlines()[0]
    return "no validation metrics"


def finished_at(job_dir: Path) -> float | None:
    """When the job of ``job_dir`` finished (its ``metrics.json``, written atomically, says completed or failed)."""
    path = job_dir / "metrics.json"
    try:
        finished = json.loads(path.read_text()).get("status", "completed") in FINISHED
        return path.stat().st_mtime if finished else None
    except (OSError, json.JSONDecodeError):
        return None


def count(sweep_dir: Path, since: float) -> tuple[int, int]:
    """Jobs of ``sweep_dir`` that have finished (completed or failed) and how many of them since ``since``."""
    times = [t for t in map(finished_at, find_job_dirs(sweep_dir)) if t is not None]
    return len(times), sum(t >= since for t in times)


def progress(sweep_dir: Path, plan: Plan, now: float) -> str:
    """``7/15 done, ETA 25m10s`` (the rate of the jobs finished since the multirun started)."""
    done, since_start = count(sweep_dir, plan.started)
    if plan.total is None:
        return f"{done} done"
    text = f"{done}/{plan.total} done"
    if since_start and done < plan.total:
        text += f", ETA {duration((now - plan.started) / since_start * (plan.total - done))}"
    return text


class SweepProgress(Callback):
    """Hydra callback: per-job start and end lines of a multirun (single runs print nothing more)."""

    def __init__(self) -> None:
        self.job_started: dict[str, float] = {}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        total, swept = plan_of(config.hydra)
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(sweep_dir / SWEEP_FILE, {"started": time.time(), "total": total, "swept": list(swept)})
        except OSError as err:  # progress lines must not stop a sweep
            log.warning("sweep progress unavailable: %s", err)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        self.job_started[config.hydra.runtime.output_dir] = time.perf_counter()
        plan = read_plan(Path(config.hydra.sweep.dir))
        name, seed = variant(config.hydra.overrides.task, plan.swept if plan else ())
        total = f" of {plan.total}" if plan and plan.total else ""
        log.info("[sweep] job #%s%s started: %s%s", config.hydra.job.num, total, name, seed_text(seed))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        job_dir = Path(config.hydra.runtime.output_dir)
        elapsed = time.perf_counter() - self.job_started.pop(str(job_dir), time.perf_counter())
        try:
            metrics = json.loads((job_dir / "metrics.json").read_text())
        except (OSError, json.JSONDecodeError):
            metrics = {}
        status = "failed" if job_return.status == JobStatus.FAILED else str(metrics.get("status", "completed"))
        sweep_dir = Path(config.hydra.sweep.dir)
        plan = read_plan(sweep_dir)
        name, seed = variant(config.hydra.overrides.task, plan.swept if plan else ())
        log.info(
            "[sweep] job #%s %s after %s: %s%s, %s%s%s",
            config.hydra.job.num,
            status,
            duration(elapsed),
            name,
            seed_text(seed),
            outcome(metrics),
            f" | {progress(sweep_dir, plan, time.time())}" if plan else "",
            overall_progress(sweep_dir, time.time()),
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        plan = read_plan(sweep_dir)
        took = f" in {duration(time.time() - plan.started)}" if plan else ""
        print(f"[sweep] {progress(sweep_dir, plan, time.time()) if plan else 'done'}{took}: {sweep_dir}", flush=True)


def seed_text(seed: str | None) -> str:
    return "" if seed is None else f" seed={seed}"
