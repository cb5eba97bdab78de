"""A table as header + rows of strings, and its Markdown and CSV text (eval reports and sweep reports)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """title, header, rows; ``labels``: how many leading columns are text (left-aligned)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    labels: int = 1


def markdown_table(table: Table) -> list[str]:
    """The table as Markdown lines: text columns left-aligned, the others right-aligned."""
    align = ["---" if i < table.labels else "--:" for i in range(len(table.header))]
    lines = ["| " + " | ".join(table.header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in table.rows]


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """CSV with a header line, full precision; NaN values are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if isinstance(x, float) and math.isnan(x) else x for x in row])
    return out.getvalue()
