"""Speed or destination: each variant's paired difference from its baseline at every training budget, side by side.

With ``trainer.max_steps`` among the swept options, a comparison at each budget pairs a variant with the baseline
of the same budget (:func:`flowdeblur.reporting.aggregate.compare`). Read across the budgets with Holm's
intervals: a difference whose interval excludes zero at the shortest budget but not at the longest is *speed*
(the baseline learns faster, the other catches up); one that excludes zero at the longest is *destination*;
anything else is *unresolved* at these budgets and seeds.
"""

from __future__ import annotations

import math

from flowdeblur.reporting.aggregate import Comparison, Report
from flowdeblur.reporting.catalog import fmt, metric
from flowdeblur.reporting.labels import Options, label
from flowdeblur.reporting.table import Table

BUDGET = "trainer.max_steps"


def _budget(options: Options) -> int:
    return int(float(dict(options)[BUDGET]))


def _excludes_zero(c: Comparison) -> bool:
    low, high = c.holm_interval
    return not math.isnan(low) and (low > 0 or high < 0)


def reading(by_budget: dict[int, Comparison]) -> str:
    """``speed``, ``destination`` or ``unresolved`` from the comparisons at the shortest and longest budget."""
    if len(by_budget) < 2:
        return "one budget"
    short, long = by_budget[min(by_budget)], by_budget[max(by_budget)]
    if _excludes_zero(long):
        return "destination"
    return "speed" if _excludes_zero(short) else "unresolved"


def budget_table(report: Report, name: str = "psnr") -> Table | None:
    """variant | Δ at each budget [Holm interval] | reading, for ``<stage>/<name>``; None unless
    ``trainer.max_steps`` is swept with at least two values."""
    if BUDGET not in report.options:
        return None
    key = f"{report.stage}/{name}"
    rows: dict[Options, dict[int, Comparison]] = {}
    for c in report.comparisons:
        if c.metric == key:
            rest = tuple((k, v) for k, v in c.variant if k != BUDGET)
            rows.setdefault(rest, {})[_budget(c.variant)] = c
    budgets = sorted({b for by_budget in rows.values() for b in by_budget})
    if len(budgets) < 2 or not rows:
        return None
    body = []
    for options, by_budget in rows.items():
        cells = []
        for b in budgets:
            found = by_budget.get(b)
            if found is None:
                cells.append("–")
                continue
            low, high = found.holm_interval
            interval = "" if math.isnan(low) else f" [{fmt(low, key, True)}, {fmt(high, key, True)}]"
            cells.append(f"{fmt(found.mean, key, True)}{interval}")
        body.append([label(options), *cells, reading(by_budget)])
    m = metric(key)
    title = (
        f"{report.stage}: {m.label}{f' ({m.unit})' if m.unit else ''} − baseline at each budget, Holm intervals: "
        "speed (differs early, not at the longest budget), destination (differs at the longest) or unresolved"
    )
    return Table(title, ["variant", *(f"{b} steps" for b in budgets), "reading"], body)
