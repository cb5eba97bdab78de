"""Property tests: the synthetic generator over its parameters, every preset's network over odd frame sizes."""

from __future__ import annotations

from functools import cache

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowdeblur.config import compose_config
from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.network import FlowDeblurNet, build_net
from tests.helpers import config_options

FUZZ = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRESETS = ["default", *config_options("experiment")]


@FUZZ
@given(
    num_frames=st.integers(2, 4),
    height=st.integers(16, 41),
    width=st.integers(16, 41),
    blur_subframes=st.sampled_from([1, 3, 5]),
    max_objects=st.integers(0, 3),
    max_speed=st.floats(0, 6),
    camera_motion_prob=st.floats(0, 1),
    motion_threshold=st.floats(0, 3),
    noise_std=st.floats(0, 0.1),
    seed=st.integers(0, 2**16),
    index=st.integers(0, 3),
)
def test_synthetic_clips_are_well_formed(
    num_frames: int,
    height: int,
    width: int,
    blur_subframes: int,
    max_objects: int,
    max_speed: float,
    camera_motion_prob: float,
    motion_threshold: float,
    noise_std: float,
    seed: int,
    index: int,
) -> None:
    clips = SyntheticBlurClips(
        "train",
        length=4,
        num_frames=num_frames,
        crop=(height, width),
        blur_subframes=blur_subframes,
        max_objects=max_objects,
        max_speed=max_speed,
        camera_motion_prob=camera_motion_prob,
        motion_threshold=motion_threshold,
        noise_std=noise_std,
        seed=seed,
    )
    clip = clips[index]
    for key in ("blurry", "sharp"):
        assert clip[key].shape == (num_frames, 3, height, width)
        assert clip[key].min() >= 0 and clip[key].max() <= 1
    assert clip["flow"].shape == (num_frames - 1, 2, height, width) and torch.isfinite(clip["flow"]).all()
    assert clip["mask"].shape == (1, height, width) and set(clip["mask"].unique().tolist()) <= {0.0, 1.0}
    assert clip["target"] == num_frames // 2


@cache
def preset_net(preset: str) -> tuple[FlowDeblurNet, int]:
    """The network of an experiment preset (randomly initialised, eval mode) and its window length."""
    cfg = compose_config([] if preset == "default" else [f"experiment={preset}"])
    torch.manual_seed(0)
    net = build_net(cfg.model).eval()
    return net, net.num_frames


@FUZZ
@given(
    preset=st.sampled_from(PRESETS),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    value=st.sampled_from(["random", "zeros", "ones"]),
)
def test_every_preset_restores_any_frame_size(preset: str, height: int, width: int, value: str) -> None:
    net, num_frames = preset_net(preset)
    frames = {"random": torch.rand, "zeros": torch.zeros, "ones": torch.ones}[value](1, num_frames, 3, height, width)
    with torch.no_grad():
        restored = net(frames, num_frames // 2).restored
    assert restored.shape == (1, 3, height, width)
    assert torch.isfinite(restored).all()
