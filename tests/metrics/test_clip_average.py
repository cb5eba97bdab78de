"""Frame -> clip -> data-set averaging, with duplicate and NaN handling."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.metrics.clip_average import ClipAverage


def test_clip_then_dataset_average() -> None:
    metric = ClipAverage()
    metric.update(torch.tensor([10.0, 20.0, 30.0]), torch.tensor([0, 0, 1]), torch.tensor([0, 1, 2]))
    metric.update(torch.tensor([40.0]), torch.tensor([1]), torch.tensor([3]))
    assert metric.per_clip() == {0: 15.0, 1: 35.0}
    assert metric.compute().item() == pytest.approx(25.0)


def test_duplicate_indices_and_nan_are_dropped() -> None:
    metric = ClipAverage()
    metric.update(torch.tensor([10.0, float("nan")]), torch.tensor([0, 1]), torch.tensor([0, 1]))
    metric.update(torch.tensor([10.0, 50.0]), torch.tensor([0, 2]), torch.tensor([0, 2]))
    metric.update(torch.tensor([50.0]), torch.tensor([2]), torch.tensor([2]))
    assert metric.per_clip() == {0: 10.0, 2: 50.0}
    assert metric.compute().item() == pytest.approx(30.0)


def test_empty_is_nan() -> None:
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(ClipAverage().compute())


def test_what_the_means_leave_out_is_counted() -> None:
    """Clip 1 has one NaN frame of two, clip 2 only NaN frames; the duplicate of sample 0 counts once."""
    metric = ClipAverage()
    metric.update(torch.tensor([10.0, float("nan"), 30.0]), torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]))
    metric.update(torch.tensor([float("nan"), 10.0]), torch.tensor([2, 0]), torch.tensor([3, 0]))
    assert metric.counts() == {"frames": 4, "nan_frames": 2, "clips": 2, "nan_clips": 1}
    assert metric.compute().item() == pytest.approx(20.0)
    assert ClipAverage().counts() == {"frames": 0, "nan_frames": 0, "clips": 0, "nan_clips": 0}
