"""Learning speed: samples per second and dB gained per training minute, from a run's final metrics."""

from __future__ import annotations

import pytest

from flowdeblur.runs.speed import learning_speed


def test_gain_per_minute_of_each_stage_with_an_input_reference() -> None:
    metrics = {"val/psnr": 27.5, "val/psnr_input": 26.9, "test/psnr": 28.0, "test/ssim": 0.9}
    speed = learning_speed(metrics, samples=3600, train_s=300.0)
    assert speed == {"time/samples_per_s": 12.0, "val/psnr_gain_per_min": pytest.approx(0.12)}
