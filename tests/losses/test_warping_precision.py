"""The self-supervised flow losses of a bf16-mixed step equal the float32 ones (the losses run in float32)."""

from __future__ import annotations

import torch

from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.flow.pyramid import PyramidFlow
from flowdeblur.losses.warping import WarpingLoss


def trained_like_backbone() -> PyramidFlow:
    """The default pyramid backbone with non-zero flow heads, so flows are sub-pixel and vary in space."""
    torch.manual_seed(0)
    backbone = PyramidFlow(3, (1, 2, 3), (32, 48, 64), occlusion_start=0, occlusion_ramp=0)
    with torch.no_grad():
        for head in backbone.heads.values():
            head.weight.normal_(0.0, 0.1)
            head.bias.uniform_(-0.6, 0.6)
    return backbone.train()


def window() -> torch.Tensor:
    clips = SyntheticBlurClips("val", length=2, crop=256, seed=0)
    return torch.stack([clips[i]["blurry"] for i in range(2)])


def test_flow_losses_of_a_bf16_step_equal_fp32_within_one_percent() -> None:
    """Given the flows a bf16-mixed step produces, its losses equal those computed without autocast."""
    frames, backbone = window(), trained_like_backbone()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = backbone(frames, 1)
        flows = {level: flow.detach() for level, flow in mixed.flows.items()}
    assert any(flow.dtype == torch.bfloat16 for flow in flows.values())
    assert max(float(f.abs().max()) for f in flows.values()) > 1.0
    reference = backbone.warping_loss(frames[:, [1, 0, 2]], {k: v.float() for k, v in flows.items()})
    assert set(mixed.losses) == set(reference) == {"flow/photometric", "flow/smoothness"}
    for name, value in reference.items():
        assert mixed.losses[name].dtype == torch.float32
        assert abs(float(mixed.losses[name]) / float(value) - 1.0) < 0.01, name


def test_photometric_loss_of_a_bf16_step_is_close_to_the_fp32_step() -> None:
    """End to end (the bf16 backbone's flows differ slightly from fp32 ones): within 1 %."""
    frames, backbone = window(), trained_like_backbone()
    reference = backbone(frames, 1).losses["flow/photometric"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = backbone(frames, 1).losses["flow/photometric"]
    assert abs(float(mixed) / float(reference) - 1.0) < 0.01


def test_occlusion_quantile_is_annealed_from_one() -> None:
    loss = WarpingLoss((1,), occlusion_quantile=0.8, occlusion_start=10, occlusion_ramp=20).train()
    window = torch.rand(1, 2, 3, 16, 16)
    flows = {1: torch.zeros(1, 1, 2, 8, 8)}
    quantiles = []
    for _ in range(40):
        quantiles.append(loss.current_quantile())
        assert abs(float(loss.quantile_on_device()) - quantiles[-1]) < 1e-12  # the schedule the loss uses
        loss(window, flows)
    assert quantiles[:11] == [1.0] * 11
    assert abs(quantiles[20] - 0.9) < 1e-9 and quantiles[30:] == [0.8] * 10
    loss.eval()
    loss(window, flows)
    assert int(loss.calls) == 40
