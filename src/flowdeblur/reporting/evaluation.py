"""Per-sequence evaluation reports of ``flowdeblur.eval``: one row per sequence (clip) and the data-set means,
as CSV, JSON and Markdown.

Values are the frame -> sequence means of :class:`~flowdeblur.metrics.clip_average.ClipAverage`; the overall
numbers are the means over sequences (each sequence counts once).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowdeblur.reporting.table import Table, csv_text, markdown_table
from flowdeblur.utils.files import write_json_atomic, write_text_atomic

LEADING = ("psnr", "ssim", "psnr_cdvd", "ssim_cdvd", "psnr_input", "ssim_input")


def metric_names(per_clip: Mapping[str, Mapping[int, float]]) -> list[str]:
    """The metrics present, the primary and CDVD-TSP numbers first."""
    return [n for n in LEADING if n in per_clip] + sorted(n for n in per_clip if n not in LEADING)


def sequence_rows(per_clip: Mapping[str, Mapping[int, float]], names: Mapping[int, str]) -> list[dict[str, Any]]:
    """Metric -> clip -> value and clip -> name -> rows ``{clip, sequence, <metric>: value}``, by clip."""
    clips = sorted({clip for values in per_clip.values() for clip in values})
    return [
        {
            "clip": clip,
            "sequence": names.get(clip, str(clip)),
            **{name: per_clip[name].get(clip, math.nan) for name in metric_names(per_clip)},
        }
        for clip in clips
    ]


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV with a header (empty cells for missing values)."""
    return csv_text(list(rows[0]), [list(row.values()) for row in rows]) if rows else ""


def rows_markdown(rows: list[dict[str, Any]], overall: Mapping[str, float], stage: str) -> str:
    """A Markdown report: the data-set means, then one table row per sequence."""
    names = [k for k in rows[0] if k not in ("clip", "sequence")] if rows else []

    def cell(value: Any) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"

    means = Table("means", ["metric", "mean over sequences"], [[n, cell(overall.get(f"{stage}/{n}"))] for n in names])
    sequences = Table("sequences", ["sequence", *names], [[r["sequence"], *(cell(r[n]) for n in names)] for r in rows])
    lines = [
        f"# Evaluation: {stage}",
        "",
        "Conventions: docs/evaluation.md (primary: every frame, no crop; "
        "`*_cdvd`: CDVD-TSP, first/last 2 frames left out, 4-pixel border crop).",
        "",
        *markdown_table(means),
        "",
        *markdown_table(sequences),
    ]
    return "\n".join(lines) + "\n"


def write_reports(
    out_dir: Path,
    per_clip: Mapping[str, Mapping[int, float]],
    names: Mapping[int, str],
    overall: Mapping[str, Any],
    stage: str,
) -> dict[str, Path]:
    """Write ``per_clip.csv``, ``per_clip.json`` and ``report.md`` into ``out_dir``; returns label -> path."""
    rows = sequence_rows(per_clip, names)
    paths = {
        "per sequence (csv)": out_dir / "per_clip.csv",
        "per sequence (json)": out_dir / "per_clip.json",
        "report": out_dir / "report.md",
    }
    write_text_atomic(paths["per sequence (csv)"], rows_csv(rows))
    write_json_atomic(paths["per sequence (json)"], {"overall": dict(overall), "sequences": rows})
    write_text_atomic(paths["report"], rows_markdown(rows, overall, stage))
    return paths
