"""The sweep report's tables (:class:`~flowdeblur.reporting.table.Table`), shared by the terminal, Markdown and
LaTeX writers.

Each table is narrow enough for a 120-column terminal: quality (input, restored, gain), regions, flow error and
cost, and the paired comparison; columns without any value are left out.
"""

from __future__ import annotations

import math
import statistics

from flowdeblur.reporting.aggregate import Report, Stat, Variant
from flowdeblur.reporting.budgets import budget_table
from flowdeblur.reporting.catalog import COSTS, EXACT_DB, RATES, SPEEDS, fmt, metric
from flowdeblur.reporting.labels import label
from flowdeblur.reporting.table import Table


def mean_std(stat: Stat, key: str, signed: bool = False) -> str:
    """``28.20 ± 0.30`` (the mean alone for one seed, ``–`` without values)."""
    if not stat.n:
        return "–"
    mean = fmt(stat.mean, key, signed)
    return mean if math.isnan(stat.std) else f"{mean} ± {fmt(stat.std, key)}"


def input_mean(report: Report, key: str) -> float:
    """The blurry input's value of ``key`` averaged over every completed run (NaN if never logged)."""
    values = [v for variant in report.variants for v in variant.stat(key).values]
    return statistics.fmean(values) if values else math.nan


def _input_text(value: float, key: str) -> str:
    return "exact" if metric(key).unit == "dB" and value >= EXACT_DB else fmt(value, key)


def _columns(report: Report, names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(title, key) pairs whose key some variant has."""
    return [(title, key) for title, key in names if report.has(key)]


def _cell(variant: Variant, key: str) -> str:
    """Inputs and costs: the mean (they do not vary with the seed, or only by timing noise); else mean ± std."""
    stat = variant.stat(key)
    if not stat.n:
        return "–"
    if key.endswith("_input"):
        return _input_text(stat.mean, key)
    if metric(key).higher is None:
        return fmt(stat.mean, key, unit=True)
    return mean_std(stat, key, signed=key.endswith("_gain"))


def _table(
    report: Report,
    title: str,
    columns: list[tuple[str, str]],
    lead: list[str],
    lead_cells: list[list[str]] | None = None,
) -> Table | None:
    columns = _columns(report, columns)
    if not columns:
        return None
    rows = []
    for i, variant in enumerate(report.variants):
        extra = lead_cells[i] if lead_cells else []
        rows.append([variant.label, *extra, *(_cell(variant, key) for _, key in columns)])
    return Table(title, ["variant", *lead, *(t for t, _ in columns)], rows)


def quality_table(report: Report) -> Table | None:
    """variant | n | PSNR in | PSNR | gain | SSIM in | SSIM | LPIPS in | LPIPS (mean ± std over seeds)."""
    s = report.stage
    columns = [
        ("PSNR in", f"{s}/psnr_input"),
        ("PSNR", f"{s}/psnr"),
        ("gain", f"{s}/psnr_gain"),
        ("SSIM in", f"{s}/ssim_input"),
        ("SSIM", f"{s}/ssim"),
        ("LPIPS in", f"{s}/lpips_input"),
        ("LPIPS", f"{s}/lpips"),
    ]
    seeds = [[str(max((st.n for st in v.stats.values()), default=0))] for v in report.variants]
    return _table(
        report, f"{s}: blurry input (in), restored, gain in dB — mean ± std over n seeds", columns, ["n"], seeds
    )


def region_table(report: Report) -> Table | None:
    """Static and moving regions: PSNR, fraction of static pixels changed by more than 1/255 (input, restored) and
    harmed (moved more than 1/255 further from the sharp frame than the input)."""
    s = report.stage
    static_in = f"{s}/psnr_static_input"
    columns = [
        ("static in", static_in),
        ("PSNR static", f"{s}/psnr_static"),
        ("changed in", f"{s}/static_changed_input"),
        ("changed %", f"{s}/static_changed"),
        ("harmed %", f"{s}/static_harmed"),
        ("moving in", f"{s}/psnr_moving_input"),
        ("PSNR moving", f"{s}/psnr_moving"),
    ]
    if all(v >= EXACT_DB for variant in report.variants for v in variant.stat(static_in).values):
        columns = columns[1:]  # the static input is the sharp frame itself: nothing to show
    return _table(report, f"{s}: static and moving regions (synthetic motion masks)", columns, [])


def cost_table(report: Report) -> Table | None:
    """Runs per status, flow end-point error, parameters, MACs (None when none of these were logged and every run
    completed)."""
    s = report.stage
    columns = [
        ("EPE static", f"{s}/epe_static"),
        ("EPE moving", f"{s}/epe_moving"),
        ("EPE", f"{s}/epe"),
        *((c.label, c.name) for c in COSTS),
    ]
    runs = [[_runs(v)] for v in report.variants]
    table = _table(report, f"{s}: flow error (px) and cost", columns, ["runs"], runs)
    if table or report.count("completed") == len(report.jobs):
        return table
    return Table("runs", ["variant", "runs"], [[v.label, *r] for v, r in zip(report.variants, runs, strict=True)])


def speed_table(report: Report) -> Table | None:
    """Training time, samples per second and dB gained per training minute (None when none was logged)."""
    columns = [*((m.label, m.name) for m in SPEEDS), *((m.label, f"{report.stage}/{m.name}") for m in RATES)]
    return _table(report, f"{report.stage}: training speed", columns, [])


def _runs(variant: Variant) -> str:
    """``3``, or ``3 +1 failed +2 running`` when some runs did not complete."""
    others = [(variant.count("failed"), "failed"), (variant.count("running") + variant.count("pending"), "running")]
    return " ".join([str(variant.count("completed")), *(f"+{n} {what}" for n, what in others if n)])


def _interval(low: float, high: float, key: str) -> str:
    return "–" if math.isnan(low) else f"[{fmt(low, key, True)}, {fmt(high, key, True)}]"


def _p(value: float) -> str:
    return "–" if math.isnan(value) else (f"{value:.3f}" if value >= 0.001 else "<0.001")


def comparison_table(report: Report) -> Table | None:
    """variant | (baseline) | metric | seeds | mean Δ | 95% CI | p (Holm) | 95% CI (Holm), paired by seed; Holm
    across the comparisons of each metric (the family size m in the title)."""
    if not report.comparisons:
        return None
    baselines = {c.baseline for c in report.comparisons}
    one = len(baselines) == 1
    rows = []
    for c in report.comparisons:
        interval = _interval(*c.interval, c.metric)
        m = metric(c.metric)
        name = f"{m.label} ({m.unit})" if m.unit else m.label
        rows.append(
            [
                label(c.variant),
                *([] if one else [label(c.baseline)]),
                name,
                str(len(c.seeds)),
                fmt(c.mean, c.metric, True),
                interval,
                _p(c.p_holm),
                _interval(*c.holm_interval, c.metric),
            ]
        )
    families = sorted({c.family for c in report.comparisons if c.family})
    title = "paired by seed: variant − baseline, 95% t-interval"
    if families:
        title += (
            f"; Holm-corrected across the {'/'.join(map(str, families))} comparisons of each metric (adjusted p, "
            "matching intervals)"
        )
    if one:
        title += f" (baseline: {label(next(iter(baselines)))})"
    header = [
        "variant",
        *([] if one else ["baseline"]),
        "metric",
        "seeds",
        "mean Δ",
        "95% CI",
        "p (Holm)",
        "95% CI (Holm)",
    ]
    return Table(title, header, rows, labels=2 if one else 3)


def tuning_table(report: Report) -> Table | None:
    """variant | each tried value's mean val PSNR (seeds) | chosen (None without a tuned option)."""
    if not report.choices:
        return None
    rows = []
    for c in report.choices:
        tried = ", ".join(f"{value}: {fmt(score, 'val/psnr')} ({n})" for value, score, n in c.scores)
        rows.append([label(c.options), tried, c.chosen])
    title = f"{report.tuned} chosen per variant on validation (mean val PSNR in dB over n seeds)"
    return Table(title, ["variant", "tried: mean val PSNR (n)", "chosen"], rows)


def compact_columns(report: Report) -> list[str]:
    """The keys of the paper table: PSNR, SSIM, LPIPS, static (harmed %, else changed %, else PSNR), moving,
    parameters (effective, total), MACs."""
    s = report.stage
    static = next((k for k in (f"{s}/static_harmed", f"{s}/static_changed") if report.has(k)), f"{s}/psnr_static")
    keys = [
        f"{s}/psnr",
        f"{s}/ssim",
        f"{s}/lpips",
        static,
        f"{s}/psnr_moving",
        "params/effective",
        "params/total",
        "macs",
    ]
    return [k for k in keys if report.has(k)]


def compact_table(report: Report) -> Table:
    """The paper table: a ``blurry input`` row, then one row per variant (mean ± std over seeds)."""
    keys = compact_columns(report)
    header = ["variant"]
    for key in keys:
        m = metric(key)
        arrow = "" if m.higher is None else (" ↑" if m.higher else " ↓")
        header.append(f"{m.label}{f' ({m.unit})' if m.unit else ''}{arrow}")
    inputs = []
    for key in keys:
        m = metric(key)
        value = input_mean(report, f"{report.stage}/{m.input}") if m.input else math.nan
        inputs.append("–" if math.isnan(value) else _input_text(value, key))
    rows = [["blurry input", *inputs]] if any(x != "–" for x in inputs) else []
    rows += [
        [v.label, *(fmt(v.stat(k).mean, k) if metric(k).higher is None else _cell(v, k) for k in keys)]
        for v in report.variants
    ]
    return Table(f"{report.stage} split, mean ± std over seeds", header, rows)


def all_tables(report: Report) -> list[Table]:
    """The tables printed and written to ``report.md``, in order."""
    tables = (
        quality_table(report),
        region_table(report),
        cost_table(report),
        speed_table(report),
        tuning_table(report),
        budget_table(report),
        comparison_table(report),
    )
    return [t for t in tables if t is not None]
