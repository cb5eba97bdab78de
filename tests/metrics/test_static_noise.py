"""Static-region metrics on noisy synthetic clips: scored against the noise-free sharp frame over a mask from
the scene's motion, so the noisy input counts as changed and a perfect restoration as unchanged."""

from __future__ import annotations

import torch

from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.flow.base import MotionFeatures
from flowdeblur.lit.evaluation import StageMetrics
from flowdeblur.network import NetOutput


def stage_values(noise: str, restore: str) -> dict[str, float]:
    """Metrics of a still-camera val batch whose 'restored' frame is the sharp or the blurry target, or the
    blurry one pushed 2/255 further from the sharp frame in every channel (``pushed``)."""
    clips = SyntheticBlurClips("val", length=4, crop=64, camera_motion_prob=0.0, noise=noise, seed=1)
    items = [clips[i] for i in range(4)]
    batch = {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in ("blurry", "sharp", "mask")}
    batch |= {"clip": torch.arange(4), "index": torch.arange(4)}
    t = items[0]["target"]
    motion = MotionFeatures(features={}, flows={})
    metrics = StageMetrics()
    blurry, sharp = batch["blurry"][:, t], batch["sharp"][:, t]
    restored = blurry + 2 / 255 * torch.sign(blurry - sharp) if restore == "pushed" else batch[restore][:, t].clone()
    metrics.update(batch, t, NetOutput(restored=restored, motion=motion, weights={}), False)
    return {k: float(v) for k, v in metrics.compute().items()}


def test_noisy_input_is_changed_and_a_perfect_restoration_is_not() -> None:
    clean = stage_values("none", "blurry")
    noisy = stage_values("poisson_gaussian", "blurry")
    perfect = stage_values("poisson_gaussian", "sharp")
    assert clean["static_changed_input"] < 0.01 and clean["psnr_static_input"] > 60
    assert noisy["static_changed_input"] > 0.8 and 35 < noisy["psnr_static_input"] < 50
    assert perfect["static_changed"] == 0.0 and perfect["psnr_static"] == 100.0
    assert perfect["static_changed_input"] == noisy["static_changed_input"]


def test_the_static_mask_does_not_depend_on_the_noise() -> None:
    clean = SyntheticBlurClips("val", length=2, crop=64, noise="none")[1]
    noisy = SyntheticBlurClips("val", length=2, crop=64)[1]
    assert torch.equal(clean["mask"], noisy["mask"]) and torch.equal(clean["sharp"], noisy["sharp"])


def test_harmed_counts_static_pixels_moved_away_from_the_sharp_frame_not_the_noise() -> None:
    noisy = stage_values("poisson_gaussian", "blurry")
    perfect = stage_values("poisson_gaussian", "sharp")
    pushed = stage_values("poisson_gaussian", "pushed")
    # passing the noisy input through harms nothing, though nearly every static pixel is off the sharp frame
    assert noisy["static_harmed"] == 0.0 and noisy["static_changed"] > 0.8
    assert perfect["static_harmed"] == 0.0
    # every channel moved 2/255 further from the sharp frame: harmed wherever the clamp to [0, 1] leaves room
    assert pushed["static_harmed"] > 0.95
