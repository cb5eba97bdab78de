"""Aggregate the jobs of a sweep: one row per variant (every swept option except the seed), mean ± std over
seeds, and a paired comparison of each variant with a baseline.

A *variant* is a combination of values of the swept options (options whose value differs between jobs), the
seed excluded. Its statistics use completed jobs only; failed, running and pending jobs are counted.
The paired comparison matches a variant's jobs with its baseline's by seed, and reports the mean difference
with a 95% Student-t interval over the seeds (``mean ± t(0.975, n-1) · sd / sqrt(n)``; undefined for one
seed).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowdeblur.reporting.jobs import Job, ReportInputError, load_jobs

QUALITY = ("psnr", "ssim", "lpips", "psnr_static", "psnr_moving")
COSTS = ("params/total", "macs", "time/train_s")
STATUSES = ("completed", "failed", "running", "pending")

Options = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Stat:
    """Values over seeds and their mean and sample standard deviation (NaN for fewer than two values)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else math.nan


@dataclass
class Variant:
    """One row of the report: the swept option values and the jobs that share them."""

    options: Options
    jobs: list[Job]
    stats: dict[str, Stat] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(job.status == status for job in self.jobs)


@dataclass(frozen=True)
class Comparison:
    """``variant - baseline`` of one metric, paired by seed."""

    variant: Options
    baseline: Options
    metric: str
    seeds: tuple[str, ...]
    differences: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.differences) if self.differences else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """95% t-interval of the mean difference (NaNs for fewer than two pairs)."""
        n = len(self.differences)
        if n < 2:
            return math.nan, math.nan
        from scipy.stats import t

        half = float(t.ppf(0.975, n - 1)) * statistics.stdev(self.differences) / math.sqrt(n)
        return self.mean - half, self.mean + half


@dataclass
class Report:
    """Everything the writers need: the stage reported, the swept options, variants and comparisons.

    baseline: the option values substituted into a variant to find its baseline (all swept options: one
    baseline for every variant; a subset: a baseline per combination of the other options).
    """

    sweep_dir: Path
    stage: str
    seed_key: str
    options: list[str]
    metrics: list[str]
    variants: list[Variant]
    baseline: dict[str, str]
    comparisons: list[Comparison]

    def count(self, status: str) -> int:
        return sum(v.count(status) for v in self.variants)

    @property
    def failed_jobs(self) -> list[Job]:
        return [job for v in self.variants for job in v.jobs if job.status == "failed"]


def short_name(option: str) -> str:
    """``model.weight_source`` -> ``weight_source``; ``model/flow`` -> ``flow``."""
    return option.replace("/", ".").rsplit(".", 1)[-1]


def label(options: Options) -> str:
    """``(("model.weight_source", "flow"),)`` -> ``weight_source=flow``."""
    return ", ".join(f"{short_name(k)}={v}" for k, v in options) or "all jobs"


def swept_options(jobs: Sequence[Job], seed_key: str) -> list[str]:
    """Options whose value differs between jobs (a job without the option counts as its own value), in
    first-seen order, the seed excluded."""
    seen: list[str] = []
    for job in jobs:
        seen.extend(k for k in job.overrides if k not in seen and k != seed_key)
    return [k for k in seen if len({job.overrides.get(k) for job in jobs}) > 1]


def choose_stage(jobs: Sequence[Job], stage: str) -> str:
    """``auto`` -> ``test`` when a completed job has ``test/psnr``, else ``val``."""
    if stage != "auto":
        return stage
    return "test" if any("test/psnr" in job.metrics for job in jobs if job.status == "completed") else "val"


def seed_values(jobs: Sequence[Job], metric: str, seed_key: str) -> dict[str, float]:
    """Seed -> value of ``metric`` over completed jobs (jobs repeating a seed are averaged)."""
    by_seed: dict[str, list[float]] = {}
    for job in jobs:
        value = job.metrics.get(metric)
        if job.status == "completed" and isinstance(value, int | float) and not math.isnan(value):
            by_seed.setdefault(job.overrides.get(seed_key, "default"), []).append(float(value))
    return {seed: statistics.fmean(values) for seed, values in by_seed.items()}


def parse_baseline(spec: str | None, values: dict[str, list[str]]) -> dict[str, str]:
    """``"model.weight_source=static"`` -> option -> value, checked against the swept options' ``values``."""
    parsed: dict[str, str] = {}
    for item in (spec or "").replace(" ", ",").split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or key not in values:
            raise ReportInputError(
                f"--baseline: expected option=value pairs of swept options {list(values)}, got '{item}'"
            )
        if value not in values[key]:
            raise ReportInputError(
                f"--baseline: {key} takes the values {values[key]} in this sweep, got '{value}'"
            )
        parsed[key] = value
    return parsed


def compare(variants: list[Variant], spec: dict[str, str], metrics: list[str], seed_key: str
            ) -> list[Comparison]:
    """Each variant against its baseline: the variant with the ``spec`` values substituted (itself excluded;
    pairs need a seed completed in both)."""
    by_options = {v.options: v for v in variants}
    comparisons = []
    for variant in variants:
        base_options = tuple((k, spec.get(k, value)) for k, value in variant.options)
        baseline = by_options.get(base_options)
        if baseline is None or baseline is variant:
            continue
        for metric in metrics:
            ours = seed_values(variant.jobs, metric, seed_key)
            theirs = seed_values(baseline.jobs, metric, seed_key)
            seeds = tuple(sorted(set(ours) & set(theirs), key=lambda s: (len(s), s)))
            if seeds:
                comparisons.append(Comparison(variant.options, base_options, metric, seeds,
                                              tuple(ours[s] - theirs[s] for s in seeds)))
    return comparisons


def build_report(sweep_dir: str | Path, baseline: str | None = None, stage: str = "auto",
                 seed_key: str = "seed") -> Report:
    """Read every job of ``sweep_dir`` and aggregate it (see the module docstring).

    ``baseline``: ``option=value[,option=value]`` of swept options; default: the variant of the first job.
    """
    jobs = load_jobs(sweep_dir)
    stage = choose_stage(jobs, stage)
    options = swept_options(jobs, seed_key)
    variants: dict[Options, Variant] = {}
    for job in jobs:
        key = tuple((k, job.overrides.get(k, "")) for k in options)
        variants.setdefault(key, Variant(key, [])).jobs.append(job)
    completed = [job for job in jobs if job.status == "completed"]
    metrics = [f"{stage}/{m}" for m in QUALITY if any(f"{stage}/{m}" in job.metrics for job in completed)]
    for variant in variants.values():
        for name in (*metrics, *COSTS):
            variant.stats[name] = Stat(tuple(seed_values(variant.jobs, name, seed_key).values()))
    values = {k: list(dict.fromkeys(dict(v)[k] for v in variants)) for k in options}
    spec = parse_baseline(baseline, values) or dict(next(iter(variants)))
    rows = list(variants.values())
    comparisons = compare(rows, spec, metrics, seed_key)
    return Report(Path(sweep_dir), stage, seed_key, options, metrics, rows, spec, comparisons)
