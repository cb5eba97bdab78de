"""How fast a run learns, comparable across presets: samples per second and dB gained per training minute."""

from __future__ import annotations

from collections.abc import Mapping


def learning_speed(metrics: Mapping[str, float], samples: int, train_s: float) -> dict[str, float]:
    """Final ``metrics``, training ``samples`` seen in ``train_s`` seconds -> ``time/samples_per_s`` and, for each
    stage with its blurry-input PSNR, ``<stage>/psnr_gain_per_min``: the tested weights' dB over the input per
    minute of training."""
    speed = {"time/samples_per_s": samples / train_s}
    for stage in ("val", "test"):
        if f"{stage}/psnr" in metrics and f"{stage}/psnr_input" in metrics:
            gain = metrics[f"{stage}/psnr"] - metrics[f"{stage}/psnr_input"]
            speed[f"{stage}/psnr_gain_per_min"] = gain / (train_s / 60.0)
    return speed
