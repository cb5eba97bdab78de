"""Pooled region metrics: split-wide sums, padded duplicates dropped, exact matches reported at the stated cap."""

from __future__ import annotations

import math

import pytest
import torch

from flowdeblur.metrics.image import PSNR_CAP_DB
from flowdeblur.metrics.pooled import PooledMean, psnr_from_mse


def test_pooled_mean_is_a_ratio_of_sums_without_duplicate_samples() -> None:
    pooled = PooledMean()
    pooled.update(torch.tensor([1.0, 0.0]), torch.tensor([10.0, 30.0]), torch.tensor([0, 1]))
    pooled.update(torch.tensor([3.0, 1.0]), torch.tensor([20.0, 10.0]), torch.tensor([2, 0]))  # 0 again: padding
    assert float(pooled.compute()) == pytest.approx(4.0 / 60.0)


def test_pooled_mean_counts_exact_samples_and_is_nan_without_any_pixel() -> None:
    pooled = PooledMean()
    pooled.update(torch.tensor([0.0, 0.0]), torch.tensor([5.0, 0.0]), torch.tensor([0, 1]))
    assert float(pooled.compute()) == 0.0
    empty = PooledMean()
    empty.update(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([0]))
    assert math.isnan(float(empty.compute()))


def test_psnr_from_mse() -> None:
    assert psnr_from_mse(1e-3) == pytest.approx(30.0)
    assert psnr_from_mse(0.0) == PSNR_CAP_DB and psnr_from_mse(1e-12) == PSNR_CAP_DB
    assert math.isnan(psnr_from_mse(float("nan")))
