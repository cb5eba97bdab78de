"""Holm's step-down correction of a family of paired comparisons, with intervals that match its decisions.

For m hypotheses with p-values sorted p_(1) <= ... <= p_(m), Holm rejects H_(k) at family-wise level alpha when
p_(j) <= alpha / (m - j + 1) for every j <= k. The adjusted p-value is
``max_{j<=k} min(1, (m - j + 1) p_(j))``. The matching interval of H_(k) is the t-interval at level
``alpha / (m - min(k, s) + 1)``, where s is the rank at which the procedure stops (the first hypothesis it does
not reject; m + 1 when it rejects all): an interval excludes zero exactly when Holm rejects its hypothesis
(every interval is at least as wide as the uncorrected one, and at most as wide as Bonferroni's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def holm_adjusted(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values in the input order; NaN entries stay NaN and do not count in the family."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    m = len(ranked)
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def holm_levels(pvalues: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Per hypothesis, the two-sided level of its Holm-matched interval (see the module docstring); NaN for NaN
    p-values."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    m = len(ranked)
    stop = next((rank for rank, (p, _) in enumerate(ranked) if p > alpha / (m - rank)), m)
    levels = [math.nan] * len(pvalues)
    for rank, (_, i) in enumerate(ranked):
        levels[i] = alpha / (m - min(rank, stop))
    return levels
