"""Synthetic blur is a continuous streak: consecutive renders of an exposure move points by at most ~1 px."""

from __future__ import annotations

import torch

from flowdeblur.data.groundtruth import ground_truth_flow
from flowdeblur.data.render import render_subframes
from flowdeblur.data.synthetic import SyntheticBlurClips


def render_steps(clips: SyntheticBlurClips, index: int) -> torch.Tensor:
    """Per-pixel displacement (px) between every pair of consecutive renders of the target's exposure."""
    scene, m = clips.clip_scene(clips.rng(index))
    _, coverage = render_subframes(scene, clips.size, m)
    t = clips.target
    return torch.cat(
        [
            ground_truth_flow(scene, coverage[t], clips.size, s, [s + 1]).norm(dim=1).flatten()
            for s in range(t * m, (t + 1) * m - 1)
        ]
    )


def test_render_steps_are_at_most_one_pixel_at_the_99th_percentile() -> None:
    clips = SyntheticBlurClips("val", length=8, crop=96, seed=0)
    steps = torch.cat([render_steps(clips, i) for i in range(clips.length)])
    assert torch.quantile(steps[::7], 0.99) <= 1.0
    assert steps.max() <= clips.max_subframe_motion + 1e-6


def test_without_supersampling_the_blur_is_a_comb() -> None:
    """The same clips rendered at exactly N sub-frames move several px between renders (what the default fixes)."""
    clips = SyntheticBlurClips("val", length=8, crop=96, seed=0, max_subframe_motion=0.0)
    steps = torch.cat([render_steps(clips, i) for i in range(clips.length)])
    assert torch.quantile(steps[::7], 0.99) > 2.0


def test_supersampling_keeps_the_motion_and_the_sharp_frame() -> None:
    """Finer renders change the blurry frames only: the sharp frames, flow and mask are the same clip's."""
    fine = SyntheticBlurClips("val", length=4, crop=96, seed=0)[3]
    coarse = SyntheticBlurClips("val", length=4, crop=96, seed=0, max_subframe_motion=0.0)[3]
    assert torch.allclose(fine["sharp"], coarse["sharp"], atol=2e-3)
    assert torch.allclose(fine["flow"], coarse["flow"], atol=1e-3)
    assert torch.equal(fine["mask"], coarse["mask"])
    assert (fine["blurry"] - coarse["blurry"]).abs().mean() > 1e-3
