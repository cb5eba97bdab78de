"""Find runs to report: any list of run dirs, multirun (sweep) dirs, Optuna sweep dirs, parents of those
(``outputs/train``, ``outputs/train/2026-01-31``) or glob patterns; read each run's overrides and ``metrics.json``.

A run (*job*) is a directory holding ``.hydra/overrides.yaml``: a single run (``outputs/train/<date>/<time>``)
or one job of a sweep (``multirun/<date>/<time>/<n>``).
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

EXPECTED = (
    "run dirs (outputs/train/<date>/<time>), sweep dirs (multirun/<date>/<time>), folders holding them, or glob "
    "patterns of those; a run dir holds .hydra/overrides.yaml and, once the run ends, metrics.json"
)
# sub-folders of a run that never hold runs: not searched
SKIP = {".hydra", "wandb", "checkpoints", "panels", "csv", "lightning_logs", ".submitit"}


class ReportInputError(ValueError):
    """Paths that name no run this report can read."""


@dataclass(frozen=True)
class Job:
    """One run.

    status: ``completed``, ``failed``, ``running`` (as metrics.json says) or ``pending`` (no metrics.json).
    overrides: option -> value of the run's command-line and sweep overrides (``+`` prefixes and Hydra's own
    ``hydra.*`` options dropped). seed: the ``seed`` override, else the seed of its saved config, else ``default``.
    """

    path: Path
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    seed: str = "default"

    @property
    def error(self) -> str:
        return str(self.metrics.get("error", ""))


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["+sweep=a", "seed=1", "~x", "hydra.run.dir=d"]`` -> ``{"sweep": "a", "seed": "1"}``."""
    parsed = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.lstrip("+")
        if sep and not key.startswith(("~", "hydra.", "hydra/")):
            parsed[key] = value
    return parsed


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def _saved_seed(job_dir: Path) -> str | None:
    config = job_dir / ".hydra" / "config.yaml"
    if not config.is_file():
        return None
    seed = OmegaConf.select(OmegaConf.load(config), "seed", default=None, throw_on_resolution_failure=False)
    return None if seed is None else str(seed)


def _trained_run(ckpt_path: str) -> Path | None:
    """The training run dir whose ``checkpoints/`` holds ``ckpt_path``, where it is here (paths relative to the
    working directory, as ``eval`` resolves them)."""
    run_dir = Path(ckpt_path).parent.parent
    return run_dir if (run_dir / ".hydra" / "overrides.yaml").is_file() else None


def read_job(job_dir: Path, seed_key: str = "seed") -> Job:
    """The run in ``job_dir`` (a dir holding ``.hydra/overrides.yaml``).

    An evaluation run (``python -m flowdeblur.eval ckpt_path=<run>/checkpoints/x.ckpt data=...``) stands for the
    training run that made its checkpoint: the training run's overrides and seed, with the evaluation's own
    overrides (``ckpt_path`` left out) on top, so that evaluations of a sweep's checkpoints on other data are
    reported and paired like the sweep itself."""
    overrides = parse_overrides(OmegaConf.load(job_dir / ".hydra" / "overrides.yaml"))
    seed_dirs = [job_dir]
    trained = _trained_run(overrides["ckpt_path"]) if "ckpt_path" in overrides else None
    if trained is not None:
        evaluated = {key: value for key, value in overrides.items() if key != "ckpt_path"}
        overrides = {**parse_overrides(OmegaConf.load(trained / ".hydra" / "overrides.yaml")), **evaluated}
        seed_dirs.insert(0, trained)
    seed = overrides.get(seed_key) or next(filter(None, map(_saved_seed, seed_dirs)), None) or "default"
    metrics_file = job_dir / "metrics.json"
    if not metrics_file.is_file():
        return Job(job_dir, overrides, "pending", seed=seed)
    try:
        metrics = json.loads(metrics_file.read_text())
    except json.JSONDecodeError as err:
        return Job(job_dir, overrides, "failed", {"error": f"unreadable metrics.json: {err}"}, seed)
    return Job(job_dir, overrides, str(metrics.get("status", "completed")), metrics, seed)


def find_job_dirs(top: Path) -> list[Path]:
    """Every run dir at or below ``top`` (symlinks below ``top``, such as ``latest``, are not followed)."""
    found = []
    for root, dirs, _ in os.walk(top):
        here = Path(root)
        if (here / ".hydra" / "overrides.yaml").is_file():
            found.append(here)
            dirs[:] = []
        else:
            dirs[:] = [d for d in dirs if d not in SKIP]
    return found


def expand(paths: Sequence[str | Path]) -> list[Path]:
    """Existing paths and glob matches, in the given order; a path that matches nothing is an error."""
    expanded = []
    for item in paths:
        path = Path(item)
        if path.exists():
            expanded.append(path)
            continue
        matches = sorted(glob.glob(str(item)), key=lambda p: _natural_key(Path(p)))
        if not matches:
            raise ReportInputError(f"'{item}' does not exist and matches nothing; expected {EXPECTED}")
        expanded.extend(Path(m) for m in matches)
    return expanded


def load_jobs(paths: Sequence[str | Path], seed_key: str = "seed") -> list[Job]:
    """The runs of ``paths`` (each run once, in path order then natural order); raises
    :class:`ReportInputError` naming the path when there are none or a path is not a directory."""
    if not paths:
        raise ReportInputError(f"no path given; expected {EXPECTED}")
    seen: dict[Path, Path] = {}
    for path in expand(paths):
        if not path.is_dir():
            raise ReportInputError(f"'{path}' is not a directory; expected {EXPECTED}")
        for job_dir in sorted(find_job_dirs(path), key=_natural_key):
            seen.setdefault(job_dir.resolve(), job_dir)
    if not seen:
        names = ", ".join(f"'{p}'" for p in paths)
        raise ReportInputError(f"{names} holds no runs; expected {EXPECTED}")
    return [read_job(d, seed_key) for d in seen.values()]
