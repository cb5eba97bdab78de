"""``report.png``: per-variant PSNR over seeds, and the paired PSNR difference to the baseline."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

from flowdeblur.reporting.aggregate import Report, label, seed_values
from flowdeblur.reporting.render import display_name


def report_figure(report: Report, metric: str | None = None) -> Figure:
    """Left: mean ± std of ``metric`` (default the stage's PSNR) per variant, one dot per seed.
    Right: mean paired difference to the baseline with its 95% t-interval."""
    metric = metric or f"{report.stage}/psnr"
    variants = report.variants
    names = [label(v.options) for v in variants]
    fig = Figure(figsize=(max(9.0, 1.2 * len(variants) + 6.0), 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    for x, variant in enumerate(variants):
        stat = variant.stats.get(metric)
        if stat is None or not stat.n:
            continue
        left.bar(x, stat.mean, yerr=0.0 if math.isnan(stat.std) else stat.std, color="#9ab8d8", capsize=4)
        values = list(seed_values(variant.jobs, metric, report.seed_key).values())
        left.plot([x] * len(values), values, "o", color="#1f3f66", markersize=4)
    means = [v.stats[metric].mean for v in variants if metric in v.stats and v.stats[metric].n]
    if means:
        spread = max(means) - min(means)
        left.set_ylim(min(means) - max(1.0, spread), max(means) + max(0.5, 0.5 * spread))
    left.set_xticks(range(len(variants)), names, rotation=30, ha="right")
    left.set_ylabel(f"{display_name(metric)} ({report.stage})")
    left.set_title("per variant (bar: mean ± std, dots: seeds)")
    comparisons = [c for c in report.comparisons if c.metric == metric]
    for y, c in enumerate(comparisons):
        low, high = c.interval
        err = [[c.mean - low], [high - c.mean]] if not math.isnan(low) else None
        right.errorbar(c.mean, y, xerr=err, fmt="o", color="#b04030", capsize=4)
    right.axvline(0.0, color="grey", linewidth=1)
    right.set_yticks(range(len(comparisons)), [label(c.variant) for c in comparisons])
    right.set_ylim(len(comparisons) - 0.5, -0.5)
    right.set_xlabel(f"Δ {display_name(metric)} vs {label(tuple(report.baseline.items()))}")
    right.set_title("paired by seed, 95% CI")
    return fig


def save_report_figure(report: Report, path: str | Path) -> Path:
    """Render :func:`report_figure` to a PNG file (Agg, no display needed)."""
    report_figure(report).savefig(path, dpi=110, bbox_inches="tight")
    return Path(path)
