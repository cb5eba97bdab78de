"""The jobs of a Hydra multirun dir: their overrides (``.hydra/overrides.yaml``) and ``metrics.json``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

EXPECTED = (
    "a Hydra multirun directory (written by `python -m flowdeblur.train -m ...`, e.g. "
    "multirun/<date>/<time>) whose job dirs <n>/ hold .hydra/overrides.yaml and, once a job ends, "
    "metrics.json"
)


class ReportInputError(ValueError):
    """A directory that is not a sweep this report can read."""


@dataclass(frozen=True)
class Job:
    """One job of a sweep.

    status: ``completed``, ``failed``, ``running`` (as metrics.json says) or ``pending`` (no metrics.json).
    overrides: option -> value of the job's overrides, ``+``/``++`` prefixes dropped.
    """

    path: Path
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> str:
        return str(self.metrics.get("error", ""))


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["+sweep=a", "seed=1", "~x"]`` -> ``{"sweep": "a", "seed": "1"}`` (deletions are dropped)."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if sep and not key.startswith("~"):
            parsed[key.lstrip("+")] = value
    return parsed


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def is_sweep_job(job_dir: Path) -> bool:
    """True for the dir of a job launched by a multirun (not a single run's output dir)."""
    hydra_file = job_dir / ".hydra" / "hydra.yaml"
    return not hydra_file.is_file() or OmegaConf.load(hydra_file).hydra.get("mode") != "RUN"


def read_job(job_dir: Path) -> Job:
    """The job in ``job_dir`` (a dir holding ``.hydra/overrides.yaml``)."""
    overrides = parse_overrides(list(OmegaConf.load(job_dir / ".hydra" / "overrides.yaml")))
    metrics_file = job_dir / "metrics.json"
    if not metrics_file.is_file():
        return Job(job_dir, overrides, "pending")
    try:
        metrics = json.loads(metrics_file.read_text())
    except json.JSONDecodeError as err:
        return Job(job_dir, overrides, "failed", {"error": f"unreadable metrics.json: {err}"})
    return Job(job_dir, overrides, str(metrics.get("status", "completed")), metrics)


def load_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job dir directly below ``sweep_dir`` (Hydra's default ``hydra.sweep.subdir``, the job number), in
    job order; raises :class:`ReportInputError` if there are none."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ReportInputError(f"'{sweep_dir}' is not a directory; expected {EXPECTED}")
    found = sweep_dir.glob("*/.hydra/overrides.yaml")
    job_dirs = sorted((p.parent.parent for p in found if is_sweep_job(p.parent.parent)), key=_natural_key)
    if not job_dirs:
        raise ReportInputError(f"'{sweep_dir}' holds no jobs; expected {EXPECTED}")
    return [read_job(d) for d in job_dirs]
