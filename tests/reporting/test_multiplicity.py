"""Holm's correction: adjusted p-values against hand-computed ones, intervals that exclude zero exactly when Holm
rejects."""

from __future__ import annotations

import math

import pytest

from flowdeblur.reporting.aggregate import Comparison
from flowdeblur.reporting.multiplicity import holm_adjusted, holm_levels


def test_adjusted_p_values_match_the_step_down_by_hand() -> None:
    # sorted: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.04 (x1 -> max 0.06)
    assert holm_adjusted([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm_adjusted([0.5, math.nan, 0.6]) == pytest.approx([1.0, math.nan, 1.0], nan_ok=True)


def test_levels_step_down_until_the_first_non_rejection() -> None:
    # 0.001 <= 0.05/4 rejects; 0.02 > 0.05/3 stops: it and everything after use 0.05/3
    assert holm_levels([0.02, 0.001, 0.03, 0.5]) == pytest.approx([0.05 / 3, 0.05 / 4, 0.05 / 3, 0.05 / 3])
    assert holm_levels([0.001, 0.002]) == pytest.approx([0.025, 0.05])  # all rejected: 0.05/2, then 0.05/1


def comparison(*differences: float) -> Comparison:
    seeds = tuple(str(i) for i in range(len(differences)))
    return Comparison((("experiment", "x"),), (("experiment", "tcsvt"),), "test/psnr", seeds, differences)


def test_holm_intervals_exclude_zero_exactly_when_holm_rejects() -> None:
    family = [
        comparison(-0.60, -0.70, -0.65, -0.62, -0.68),  # clearly below
        comparison(-0.10, -0.50, 0.10, -0.30, -0.20),  # p ~ 0.14: not rejected
        comparison(-0.30, -0.25, -0.35, -0.28, -0.32),  # clearly below
    ]
    adjusted = holm_adjusted([c.p_value for c in family])
    levels = holm_levels([c.p_value for c in family])
    for c, p, level in zip(family, adjusted, levels, strict=True):
        low, high = c.interval_at(level)
        assert (p < 0.05) == (high < 0 or low > 0)
        raw_low, raw_high = c.interval
        assert low <= raw_low and high >= raw_high
    assert family[0].p_value < 1e-4 and 0.05 < family[1].p_value < 0.5


def test_p_value_of_a_paired_t_test_matches_scipy() -> None:
    from scipy.stats import ttest_1samp

    c = comparison(-0.1, -0.5, 0.1, -0.3, -0.2)
    assert c.p_value == pytest.approx(ttest_1samp(c.differences, 0.0).pvalue)
    assert math.isnan(comparison(-0.1).p_value)
