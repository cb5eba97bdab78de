"""Figures for a paper: every seed as a dot, the mean with its 95% t-interval, the blurry input as a reference.

``report``: one panel per metric (PSNR, SSIM, LPIPS, static, moving), one column per variant. The y-axis spans
the data and the blurry input's value, so a difference between variants is seen against the gain over the input
rather than magnified by a cut axis. ``report_delta``: the paired difference of each variant to its baseline,
per seed and as a mean with its interval, around a zero line. Each is written as PNG (300 dpi), PDF and SVG.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from flowdeblur.reporting.aggregate import Report, seed_values
from flowdeblur.reporting.catalog import EXACT_DB, metric
from flowdeblur.reporting.labels import label
from flowdeblur.reporting.tables import input_mean
from flowdeblur.utils.files import atomic_path

# each panel: the first of these metrics the runs logged
PANELS = (("psnr",), ("ssim",), ("lpips",), ("static_harmed", "static_changed", "psnr_static"), ("psnr_moving",))
FORMATS = ("png", "pdf", "svg")
DOT, MEAN, INPUT = "#3b6ea5", "#111111", "#888888"


def panel_keys(report: Report) -> list[str]:
    """``<stage>/<name>`` of each panel that has values."""
    keys = []
    for names in PANELS:
        key = next((f"{report.stage}/{n}" for n in names if report.has(f"{report.stage}/{n}")), None)
        if key:
            keys.append(key)
    return keys


def _title(key: str) -> str:
    m = metric(key)
    arrow = "" if m.higher is None else (" ↑" if m.higher else " ↓")
    return f"{m.label}{f' ({m.unit})' if m.unit else ''}{arrow}"


def _jitter(n: int) -> np.ndarray:
    return np.linspace(-0.12, 0.12, n) if n > 1 else np.zeros(n)


def _limits(ax: Axes, values: list[float]) -> None:
    """Span the data and the reference with a 10% margin (a constant gets ±1% of its size, or ±1)."""
    low, high = min(values), max(values)
    pad = 0.1 * (high - low) if high > low else (0.01 * abs(high) or 1.0)
    ax.set_ylim(low - pad, high + pad)


def _style(ax: Axes, names: list[str]) -> None:
    long = len(names) > 4 or max((len(n) for n in names), default=0) > 10
    ax.set_xticks(range(len(names)), names, rotation=35 if long else 0, ha="right" if long else "center")
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.grid(axis="y", alpha=0.3, linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def _panel(ax: Axes, report: Report, key: str) -> None:
    m = metric(key)
    shown: list[float] = []
    for x, variant in enumerate(report.variants):
        values = [v * m.scale for v in seed_values(variant.jobs, key).values()]
        if not values:
            continue
        ax.scatter(x + _jitter(len(values)), values, s=16, color=DOT, alpha=0.8, linewidths=0, zorder=3)
        stat = variant.stat(key)
        mean = stat.mean * m.scale
        ax.hlines(mean, x - 0.22, x + 0.22, color=MEAN, linewidth=1.6, zorder=4)
        if stat.n > 1:
            half = stat.ci * m.scale
            ax.errorbar(x + 0.3, mean, yerr=half, fmt="none", ecolor=MEAN, capsize=2.5, linewidth=1, zorder=4)
            shown += [mean - half, mean + half]
        shown += values
    reference = input_mean(report, f"{report.stage}/{m.input}") if m.input else math.nan
    if not math.isnan(reference) and not (m.unit == "dB" and reference >= EXACT_DB):
        ax.axhline(reference * m.scale, color=INPUT, linestyle="--", linewidth=1, zorder=2)
        ax.annotate(
            "blurry input",
            (0.01, reference * m.scale),
            xycoords=("axes fraction", "data"),
            xytext=(0, 2),
            textcoords="offset points",
            fontsize=7,
            color=INPUT,
            va="bottom",
        )
        shown.append(reference * m.scale)
    elif m.input and not math.isnan(reference):
        ax.text(0.01, 0.02, "blurry input: exact", transform=ax.transAxes, fontsize=7, color=INPUT)
    if shown:
        _limits(ax, shown)
    ax.set_title(_title(key), fontsize=9)
    _style(ax, [v.label for v in report.variants])


def report_figure(report: Report) -> Figure:
    """One panel per metric of :data:`PANELS`, variants along x (see the module docstring)."""
    keys = panel_keys(report) or [f"{report.stage}/psnr"]
    width = max(2.3, 0.5 * len(report.variants) + 1.0)
    fig = Figure(figsize=(width * len(keys), 3.3), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
        _panel(ax, report, key)
        ax.tick_params(labelsize=8)
    fig.supxlabel(
        f"{report.stage} split · dots: seeds · line: mean · bar: 95% t-interval · dashed: blurry input",
        fontsize=7,
        color="#444444",
    )
    return fig


def delta_figure(report: Report) -> Figure | None:
    """Paired differences to the baseline, one panel per metric of :data:`PANELS` (None without comparisons)."""
    keys = [k for k in panel_keys(report) if any(c.metric == k for c in report.comparisons)]
    if not keys:
        return None
    rows = list(dict.fromkeys(c.variant for c in report.comparisons))
    height = max(2.2, 0.35 * len(rows) + 1.2)
    fig = Figure(figsize=(2.6 * len(keys) + 1.5, height), layout="constrained")
    for i, (ax, key) in enumerate(zip(fig.subplots(1, len(keys), squeeze=False, sharey=True)[0], keys, strict=True)):
        m = metric(key)
        for y, options in enumerate(rows):
            c = next((c for c in report.comparisons if c.variant == options and c.metric == key), None)
            if c is None:
                continue
            diffs = [d * m.scale for d in c.differences]
            ax.scatter(diffs, y + _jitter(len(diffs)), s=14, color=DOT, alpha=0.8, linewidths=0, zorder=3)
            low, high = c.interval
            if not math.isnan(low):
                ax.hlines(y, low * m.scale, high * m.scale, color=MEAN, linewidth=1.2, zorder=4)
            ax.plot([c.mean * m.scale], [y], "|", color=MEAN, markersize=12, markeredgewidth=1.8, zorder=4)
        ax.axvline(0.0, color=INPUT, linewidth=1, linestyle="--")
        ax.set_title(f"Δ {_title(key)}", fontsize=9)
        if i == 0:  # the y-axis is shared: ticks set once, labels shown on the first panel only
            ax.set_yticks(range(len(rows)), [label(r) for r in rows])
            ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", alpha=0.3, linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    baseline = label(tuple(report.baseline.items()))
    fig.supxlabel(
        f"variant − {baseline}, paired by seed · dots: seeds · tick: mean · bar: 95% t-interval",
        fontsize=7,
        color="#444444",
    )
    return fig


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``<stem>.png`` (300 dpi), ``.pdf`` and ``.svg`` (text kept as text: TrueType in the PDF, editable in
    the SVG), each renamed into place when complete."""
    paths = []
    with rc_context({"pdf.fonttype": 42, "svg.fonttype": "none"}):
        for fmt in FORMATS:
            path = Path(f"{stem}.{fmt}")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=300, bbox_inches="tight")
            paths.append(path)
    return paths
