"""Aggregate runs: one row per variant (every option whose value differs between runs, the seed excluded), mean,
std and 95% interval over seeds, and a paired comparison of each variant with a baseline.

Statistics use completed runs only; failed, running and pending runs are counted. Runs of one variant that
repeat a seed are averaged first. The paired comparison matches a variant's runs with its baseline's by seed and
reports the mean difference with a 95% Student-t interval over the seeds (``mean ± t(0.975, n-1) · sd / sqrt(n)``;
undefined for one seed), the paired t-test's p-value, and Holm's correction across the comparisons of each metric
(adjusted p-values and matching intervals, :mod:`flowdeblur.reporting.multiplicity`).

``tuned``: an option (e.g. ``optim.optimizer.lr``) whose value is chosen per variant by the mean validation PSNR
over seeds (:mod:`flowdeblur.reporting.tuning`); the other values' runs leave the report, and the option is not
part of a variant's identity, so each variant is compared at its own best value.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from flowdeblur.reporting.catalog import QUALITY, cost_keys
from flowdeblur.reporting.jobs import Job, ReportInputError, load_jobs
from flowdeblur.reporting.labels import Options, label
from flowdeblur.reporting.multiplicity import holm_adjusted, holm_levels
from flowdeblur.reporting.tuning import Choice, tune

STATUSES = ("completed", "failed", "running", "pending")
# options that name the grid a run belongs to, not what it trains: the swept values are overrides themselves
GRID_OPTIONS = ("sweep", "hparams_search")


def t_half_width(values: Sequence[float]) -> float:
    """Half-width of the 95% Student-t interval of the mean of ``values`` (NaN for fewer than two)."""
    return t_half_width_at(values, 0.05)


def t_half_width_at(values: Sequence[float], alpha: float) -> float:
    """Half-width of the two-sided (1 - alpha) Student-t interval of the mean of ``values`` (NaN for fewer than
    two values or a NaN ``alpha``)."""
    if len(values) < 2 or math.isnan(alpha):
        return math.nan
    from scipy.stats import t

    return float(t.ppf(1.0 - alpha / 2, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))


@dataclass(frozen=True)
class Stat:
    """Values over seeds: mean, sample standard deviation and 95% t-interval half-width (NaN when undefined)."""

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

    @property
    def ci(self) -> float:
        return t_half_width(self.values)


@dataclass
class Variant:
    """One row of the report: the option values and the runs that share them; ``stats`` by metric key."""

    options: Options
    jobs: list[Job]
    stats: dict[str, Stat] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return label(self.options)

    def count(self, status: str) -> int:
        return sum(job.status == status for job in self.jobs)

    def stat(self, key: str) -> Stat:
        return self.stats.get(key, Stat(()))


@dataclass(frozen=True)
class Comparison:
    """``variant - baseline`` of one metric, paired by seed."""

    variant: Options
    baseline: Options
    metric: str
    seeds: tuple[str, ...]
    differences: tuple[float, ...]
    # Holm across the comparisons of this metric: family size, adjusted p-value, level of the matching interval
    family: int = 1
    p_holm: float = math.nan
    alpha_holm: float = math.nan

    @property
    def mean(self) -> float:
        return statistics.fmean(self.differences) if self.differences else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """95% t-interval of the mean difference (NaNs for fewer than two pairs)."""
        return self.interval_at(0.05)

    def interval_at(self, alpha: float) -> tuple[float, float]:
        """Two-sided (1 - alpha) t-interval of the mean difference."""
        half = t_half_width_at(self.differences, alpha)
        return self.mean - half, self.mean + half

    @property
    def holm_interval(self) -> tuple[float, float]:
        """The interval matching Holm's decision across the family (NaNs where undefined)."""
        return self.interval_at(self.alpha_holm)

    @property
    def p_value(self) -> float:
        """Two-sided p-value of the paired t-test of a zero mean difference (NaN for fewer than two pairs)."""
        n = len(self.differences)
        if n < 2:
            return math.nan
        sd = statistics.stdev(self.differences)
        if sd == 0.0:
            return 1.0 if self.mean == 0.0 else 0.0
        from scipy.stats import t

        return float(2.0 * t.sf(abs(self.mean) / (sd / math.sqrt(n)), n - 1))


@dataclass
class Report:
    """Everything the writers need.

    sources: the paths asked for; stage: the split reported; options: the swept options; metrics: quality keys
    (``<stage>/<name>``) some completed run logged; baseline: the option values substituted into a variant to
    find its baseline (all swept options: one baseline; a subset: a baseline per combination of the others).
    """

    sources: list[Path]
    stage: str
    seed_key: str
    options: list[str]
    metrics: list[str]
    variants: list[Variant]
    baseline: dict[str, str]
    comparisons: list[Comparison]
    tuned: str | None = None
    choices: list[Choice] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(v.count(status) for v in self.variants)

    @property
    def jobs(self) -> list[Job]:
        return [job for v in self.variants for job in v.jobs]

    @property
    def failed_jobs(self) -> list[Job]:
        return [job for job in self.jobs if job.status == "failed"]

    def has(self, key: str) -> bool:
        """True when some variant has a value of ``key``."""
        return any(v.stat(key).n for v in self.variants)


def job_value(job: Job, key: str) -> float:
    """``key`` from the run's metrics (``<stage>/<name>_gain`` = restored - input); NaN when missing."""
    if key.endswith("_gain"):
        base = key[: -len("_gain")]
        return job_value(job, base) - job_value(job, f"{base}_input")
    value = job.metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def seed_values(jobs: Sequence[Job], key: str) -> dict[str, float]:
    """Seed -> value of ``key`` over completed runs (runs repeating a seed are averaged)."""
    by_seed: dict[str, list[float]] = {}
    for job in jobs:
        value = job_value(job, key)
        if job.status == "completed" and not math.isnan(value):
            by_seed.setdefault(job.seed, []).append(value)
    return {seed: statistics.fmean(values) for seed, values in by_seed.items()}


def swept_options(jobs: Sequence[Job], seed_key: str) -> list[str]:
    """Options whose value differs between runs (a run without the option counts as its own value), in
    first-seen order; the seed and the options naming a grid (:data:`GRID_OPTIONS`) excluded."""
    seen: list[str] = []
    for job in jobs:
        seen.extend(k for k in job.overrides if k not in seen and k != seed_key and k not in GRID_OPTIONS)
    return [k for k in seen if len({job.overrides.get(k) for job in jobs}) > 1]


def choose_stage(jobs: Sequence[Job], stage: str) -> str:
    """``auto`` -> ``test`` when a completed run has ``test/psnr``, else ``val``."""
    if stage != "auto":
        return stage
    return "test" if any("test/psnr" in job.metrics for job in jobs if job.status == "completed") else "val"


def parse_baseline(spec: str | None, values: dict[str, list[str]]) -> dict[str, str]:
    """``"experiment=tcsvt"`` -> option -> value, checked against the swept options' ``values``."""
    parsed: dict[str, str] = {}
    for item in (spec or "").replace(" ", ",").split(","):
        if not item:
            continue
        key, sep, value = item.lstrip("+").partition("=")
        if not sep or key not in values:
            raise ReportInputError(
                f"--baseline: expected option=value pairs of swept options {list(values)}, got '{item}'"
            )
        if value not in values[key]:
            raise ReportInputError(f"--baseline: {key} takes the values {values[key]} in these runs, got '{value}'")
        parsed[key] = value
    return parsed


def compare(variants: list[Variant], spec: dict[str, str], keys: list[str]) -> list[Comparison]:
    """Each variant against its baseline: the variant with the ``spec`` values substituted (itself excluded;
    pairs need a seed completed in both)."""
    by_options = {v.options: v for v in variants}
    comparisons = []
    for variant in variants:
        base_options = tuple((k, spec.get(k, value)) for k, value in variant.options)
        baseline = by_options.get(base_options)
        if baseline is None or baseline is variant:
            continue
        for key in keys:
            ours, theirs = seed_values(variant.jobs, key), seed_values(baseline.jobs, key)
            seeds = tuple(sorted(set(ours) & set(theirs), key=lambda s: (len(s), s)))
            if seeds:
                comparisons.append(
                    Comparison(variant.options, base_options, key, seeds, tuple(ours[s] - theirs[s] for s in seeds))
                )
    return with_holm(comparisons)


def with_holm(comparisons: list[Comparison], alpha: float = 0.05) -> list[Comparison]:
    """The comparisons with Holm's correction applied across those of each metric."""
    out = list(comparisons)
    for key in dict.fromkeys(c.metric for c in comparisons):
        members = [i for i, c in enumerate(comparisons) if c.metric == key]
        pvalues = [comparisons[i].p_value for i in members]
        m = sum(not math.isnan(p) for p in pvalues)
        adjusted, levels = holm_adjusted(pvalues), holm_levels(pvalues, alpha)
        for i, p, level in zip(members, adjusted, levels, strict=True):
            out[i] = replace(comparisons[i], family=m, p_holm=p, alpha_holm=level)
    return out


def metric_keys(jobs: Sequence[Job], stage: str) -> list[str]:
    """``<stage>/<name>`` of every quality metric, its input and gain, that some completed run logged."""
    keys = []
    for m in QUALITY:
        for name in (m.name, m.input):
            if name and any(f"{stage}/{name}" in job.metrics for job in jobs if job.status == "completed"):
                keys.append(f"{stage}/{name}")
        if m.input and f"{stage}/{m.name}" in keys and f"{stage}/{m.input}" in keys:
            keys.append(f"{stage}/{m.name}_gain")
    return keys


def build_report(
    paths: Sequence[str | Path] | str | Path,
    baseline: str | None = None,
    stage: str = "auto",
    seed_key: str = "seed",
    tuned: str | None = None,
) -> Report:
    """Read every run of ``paths`` (see :mod:`flowdeblur.reporting.jobs`) and aggregate it.

    ``baseline``: ``option=value[,option=value]`` of swept options; default: the variant of the first run.
    ``tuned``: an option chosen per variant on validation (see the module docstring).
    """
    sources = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    jobs = load_jobs(sources, seed_key)
    choices: list[Choice] = []
    if tuned:
        jobs, choices = tune(jobs, tuned, swept_options(jobs, seed_key))
    stage = choose_stage(jobs, stage)
    options = [k for k in swept_options(jobs, seed_key) if k != tuned]
    variants: dict[Options, Variant] = {}
    for job in jobs:
        values_of_job = tuple((k, job.overrides.get(k, "")) for k in options)
        variants.setdefault(values_of_job, Variant(values_of_job, [])).jobs.append(job)
    keys = metric_keys(jobs, stage)
    for variant in variants.values():
        for key in (*keys, *cost_keys(stage)):
            variant.stats[key] = Stat(tuple(seed_values(variant.jobs, key).values()))
    values = {k: list(dict.fromkeys(dict(v)[k] for v in variants)) for k in options}
    spec = parse_baseline(baseline, values) or dict(next(iter(variants)))
    rows = list(variants.values())
    # without seeds to pair (e.g. Optuna trials) differences are read from the tables, unless asked for
    seeded = baseline or any(v.stat(f"{stage}/psnr").n > 1 for v in rows)
    compared = [k for k in keys if not k.endswith(("_input", "_gain"))] if seeded else []
    comparisons = compare(rows, spec, compared)
    return Report(sources, stage, seed_key, options, keys, rows, spec, comparisons, tuned, choices)
