"""Write a :class:`~flowdeblur.reporting.aggregate.Report` as Markdown, CSV and a rich table."""

from __future__ import annotations

import csv
import io
import math

from rich.console import Console
from rich.table import Table

from flowdeblur.reporting.aggregate import COSTS, STATUSES, Comparison, Report, Stat, label, short_name

NAMES = {"psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "psnr_static": "PSNR static",
         "psnr_moving": "PSNR moving", "params/total": "params", "macs": "MACs", "time/train_s": "train time"}


def display_name(metric: str) -> str:
    """``test/psnr_moving`` -> ``PSNR moving``."""
    return NAMES.get(metric, NAMES.get(metric.split("/", 1)[-1], metric))


def _number(value: float, metric: str) -> str:
    if math.isnan(value):
        return "–"
    if metric == "params/total":
        return f"{value / 1e6:.3f} M"
    if metric == "macs":
        return f"{value / 1e9:.3f} G"
    if metric == "time/train_s":
        return f"{value:.1f} s"
    return f"{value:.4f}" if metric.endswith(("ssim", "lpips")) else f"{value:.2f}"


def format_stat(stat: Stat, metric: str) -> str:
    """``mean ± std`` (just the mean for a single seed or a model size, ``–`` without values)."""
    if math.isnan(stat.std) or metric in ("params/total", "macs"):
        return _number(stat.mean, metric)
    return f"{_number(stat.mean, metric)} ± {_number(stat.std, metric).split(' ')[0]}"


def variant_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: options, seeds, failed, running, metrics, costs."""
    header = [*(short_name(k) for k in report.options), "seeds", "failed", "running",
              *(display_name(m) for m in (*report.metrics, *COSTS))]
    rows = []
    for variant in report.variants:
        n_seeds = max((s.n for s in variant.stats.values()), default=0)
        rows.append([*(v for _, v in variant.options), str(n_seeds), str(variant.count("failed")),
                     str(variant.count("running") + variant.count("pending")),
                     *(format_stat(variant.stats[m], m) for m in (*report.metrics, *COSTS))])
    return header, rows


def comparison_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the paired comparison: variant, baseline, metric, pairs, mean difference, CI."""
    header = ["variant", "baseline", "metric", "seeds", "mean Δ", "95% CI"]
    rows = []
    for c in report.comparisons:
        low, high = c.interval
        interval = "–" if math.isnan(low) else f"[{_signed(low, c)}, {_signed(high, c)}]"
        rows.append([label(c.variant), label(c.baseline), display_name(c.metric), str(len(c.seeds)),
                     _signed(c.mean, c), interval])
    return header, rows


def _signed(value: float, comparison: Comparison) -> str:
    return "–" if math.isnan(value) else ("+" if value >= 0 else "") + _number(value, comparison.metric)


def status_line(report: Report) -> str:
    counts = ", ".join(f"{report.count(s)} {s}" for s in STATUSES if report.count(s))
    return f"{sum(len(v.jobs) for v in report.variants)} jobs: {counts}"


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def to_markdown(report: Report) -> str:
    """``report.md``: the variant table, the paired comparison, the failed jobs."""
    baseline = label(tuple(report.baseline.items()))
    lines = [f"# Sweep report: {report.sweep_dir}", "",
             f"{status_line(report)}. Metrics of the `{report.stage}` split, mean ± std over seeds "
             f"(completed jobs only).", "", *_markdown_table(*variant_table(report)), "",
             f"## Paired comparison against {baseline}", "",
             "Difference variant − baseline, paired by seed; 95% Student-t interval over seeds.", "",
             *_markdown_table(*comparison_table(report))]
    if report.failed_jobs:
        lines += ["", "## Failed jobs", ""]
        for job in report.failed_jobs:
            overrides = " ".join(f"{k}={v}" for k, v in job.overrides.items())
            lines.append(f"- `{job.path.name}` ({overrides}): {job.error}")
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    """``report.csv``: one row per variant with full-precision means, stds, counts and paired differences."""
    names = [*report.metrics, *COSTS]
    header = [*report.options, *STATUSES, *(f"{m}_{s}" for m in names for s in ("mean", "std", "n")),
              *(f"{m}_delta{s}" for m in report.metrics for s in ("", "_low", "_high", "_n"))]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for variant in report.variants:
        deltas = {c.metric: c for c in report.comparisons if c.variant == variant.options}
        row: list[object] = [*(v for _, v in variant.options), *(variant.count(s) for s in STATUSES)]
        for m in names:
            stat = variant.stats[m]
            row += [stat.mean, stat.std, stat.n]
        for m in report.metrics:
            c = deltas.get(m)
            row += [c.mean, *c.interval, len(c.seeds)] if c else ["", "", "", ""]
        writer.writerow(["" if isinstance(x, float) and math.isnan(x) else x for x in row])
    return out.getvalue()


def print_report(report: Report, console: Console | None = None) -> None:
    """Print both tables with rich."""
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 200)
    tables = ((f"{report.sweep_dir} ({report.stage}) — {status_line(report)}", len(report.options),
               variant_table(report)),
              ("paired comparison (variant − baseline)", 3, comparison_table(report)))
    for title, n_labels, (header, rows) in tables:
        table = Table(title=title)
        for i, name in enumerate(header):
            table.add_column(name, justify="left" if i < n_labels else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
