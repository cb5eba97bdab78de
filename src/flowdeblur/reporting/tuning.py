"""Choose one option per variant on validation: e.g. each variant's learning rate from a small grid.

The runs are grouped by every swept option except the tuned one (and the seed); within a group each value of the
tuned option scores the mean over seeds of ``val/psnr`` of its completed runs, and the best value's runs stay
(ties: the first value seen). The test split plays no part in the choice.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from flowdeblur.reporting.jobs import Job
from flowdeblur.reporting.labels import Options

CRITERION = "val/psnr"
DEFAULT = "(default)"  # a run without the option on its command line


@dataclass(frozen=True)
class Choice:
    """The chosen value of the tuned option for one variant, and every value's mean validation PSNR (n seeds)."""

    options: Options
    option: str
    chosen: str
    scores: tuple[tuple[str, float, int], ...]


def _score(jobs: Sequence[Job]) -> tuple[float, int]:
    values = [
        float(v)
        for job in jobs
        if job.status == "completed" and isinstance(v := job.metrics.get(CRITERION), int | float)
        if not math.isnan(float(v))
    ]
    return (statistics.fmean(values) if values else math.nan), len(values)


def tune(jobs: Sequence[Job], option: str, swept: Sequence[str]) -> tuple[list[Job], list[Choice]]:
    """The runs at each variant's best value of ``option`` (by mean ``val/psnr``) and the choices made."""
    others = [k for k in swept if k != option]
    groups: dict[Options, dict[str, list[Job]]] = {}
    for job in jobs:
        key = tuple((k, job.overrides.get(k, "")) for k in others)
        groups.setdefault(key, {}).setdefault(job.overrides.get(option, DEFAULT), []).append(job)
    kept: list[Job] = []
    choices = []
    for key, by_value in groups.items():
        scores = tuple((value, *_score(members)) for value, members in by_value.items())
        scored = [s for s in scores if s[2]]
        chosen = max(scored, key=lambda s: s[1])[0] if scored else scores[0][0]
        kept.extend(by_value[chosen])
        choices.append(Choice(key, option, chosen, scores))
    return kept, choices


def choice_overrides(choices: Sequence[Choice]) -> list[str]:
    """One line of Hydra overrides per variant, e.g. ``experiment=tcsvt optim.optimizer.lr=0.001`` (a sweep per
    line runs each variant at its own value)."""
    lines = []
    for c in choices:
        chosen = [] if c.chosen == DEFAULT else [f"{c.option}={c.chosen}"]
        lines.append(" ".join([*(f"{k}={v}" for k, v in c.options if v), *chosen]))
    return lines
