"""The weight sources of the central ablation: what each lets reach the restored frame, and at what cost."""

from __future__ import annotations

from functools import cache

import pytest
import torch

from flowdeblur.config import compose_config
from flowdeblur.metrics.complexity import count_macs, count_parameters, effective_parameters
from flowdeblur.network import FlowDeblurNet, build_net

SIZE = 64


@cache
def preset(name: str, *overrides: str) -> FlowDeblurNet:
    """The preset's network (shared between tests: none of them changes it)."""
    torch.manual_seed(0)
    net = build_net(compose_config([f"experiment={name}", *overrides]).model).eval()
    with torch.no_grad():  # trained-looking weights: zero-initialised outputs would hide every path
        for param in net.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return net


def windows() -> tuple[torch.Tensor, torch.Tensor]:
    """Two (1, 3, 3, S, S) windows with the same target frame and different neighbours."""
    generator = torch.Generator().manual_seed(1)
    first = torch.rand(1, 3, 3, SIZE, SIZE, generator=generator)
    second = first.clone()
    second[:, [0, 2]] = torch.rand(1, 2, 3, SIZE, SIZE, generator=generator)
    return first, second


@pytest.fixture(scope="module")
def effective() -> dict[str, int]:
    names = ("tcsvt", "content_encoder", "static_encoder", "static_encoder_wide", "no_warp_loss", "flow_aligned")
    return {name: effective_parameters(preset(name), SIZE, SIZE) for name in names}


def test_content_control_has_exactly_the_flow_models_parameters_and_macs(effective: dict[str, int]) -> None:
    flow, content = preset("tcsvt"), preset("content_encoder")
    assert effective["content_encoder"] == effective["tcsvt"] == effective["no_warp_loss"]
    assert count_parameters(flow) == count_parameters(content)
    assert count_macs(flow, SIZE, SIZE) == count_macs(content, SIZE, SIZE)


def test_wide_static_control_matches_the_flow_models_effective_parameters(effective: dict[str, int]) -> None:
    assert abs(effective["static_encoder_wide"] / effective["tcsvt"] - 1.0) <= 0.05
    assert effective["static_encoder"] < 0.8 * effective["tcsvt"]


def test_compute_matched_static_control_matches_the_flow_models_macs() -> None:
    """static_encoder_macs: MACs within 10 % of tcsvt's at the ablation's 128 px (static_encoder_wide: far fewer)."""
    tcsvt = count_macs(preset("tcsvt"), 128, 128)
    assert abs(count_macs(preset("static_encoder_macs"), 128, 128) / tcsvt - 1.0) <= 0.10
    assert count_macs(preset("static_encoder_wide"), 128, 128) < 0.7 * tcsvt


def test_effective_parameters_leave_out_what_never_reaches_the_output(effective: dict[str, int]) -> None:
    """tcsvt: all but the finest flow head (it only feeds the warping loss). static source on a learned
    backbone: the backbone does not count at all."""
    flow = preset("tcsvt")
    finest_head = sum(p.numel() for p in flow.flow.heads["1"].parameters())
    assert effective["tcsvt"] == count_parameters(flow)["total"] - finest_head
    static_on_pyramid = preset("static_encoder", "model/flow=pyramid")
    counts = count_parameters(static_on_pyramid)
    assert counts["flow"] > 0
    assert effective_parameters(static_on_pyramid, SIZE, SIZE) == counts["deblurrer"] + counts["source"]


@pytest.mark.parametrize(
    ("name", "neighbours_matter"),
    [
        ("tcsvt", True),
        ("content_encoder", False),
        ("static_encoder", False),
        ("static_encoder_wide", False),
        ("static_encoder_macs", False),
        ("flow_aligned", True),
        ("static_window", True),
    ],
)
def test_only_the_flow_source_lets_the_neighbours_reach_the_output(name: str, neighbours_matter: bool) -> None:
    net, (first, second) = preset(name), windows()
    with torch.no_grad():
        change = (net(first, 1).restored - net(second, 1).restored).abs().max()
    assert (change > 1e-4) == neighbours_matter


def test_window_input_lets_the_neighbours_reach_the_output_directly() -> None:
    net, (first, second) = preset("static_encoder", "model.deblurrer.input=window"), windows()
    with torch.no_grad():
        assert (net(first, 1).restored - net(second, 1).restored).abs().max() > 1e-4


def test_content_source_backbone_sees_no_motion() -> None:
    net, (first, _) = preset("content_encoder"), windows()
    with torch.no_grad():
        motion = net.flow(net.source.backbone_window(first, 1), 1)
        copies = net.flow(first[:, [1, 1, 1]], 1)
    for level in motion.features:
        assert torch.equal(motion.features[level], copies.features[level])
    assert not net.source.sees_motion


def test_aligned_input_lets_the_flow_reach_the_output_through_the_warp(effective: dict[str, int]) -> None:
    """flow_aligned: the finest flow head (which only feeds the warping loss in tcsvt) now reaches the output;
    the flow error is reported (its backbone sees the real window)."""
    net = preset("flow_aligned")
    assert net.source.sees_motion
    finest_head = sum(p.numel() for p in net.flow.heads["1"].parameters())
    assert finest_head > 0
    probe = [p for name, p in net.named_parameters() if name.startswith("flow.heads.1.")]
    frames = windows()[0].requires_grad_(False)
    net.zero_grad()
    net(frames, 1).restored.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in probe)
    net.zero_grad()


def test_aligned_input_refuses_a_source_that_hides_the_window() -> None:
    with pytest.raises(ValueError, match="model.deblurrer.input=aligned"):
        build_net(compose_config(["experiment=content_encoder", "model.deblurrer.input=aligned"]).model)


def test_static_weights_ignore_the_input() -> None:
    net, (first, second) = preset("static_encoder"), windows()
    with torch.no_grad():
        a = net.source(first, 1, net.flow(first, 1))
        b = net.source(torch.rand_like(second), 1, net.flow(second, 1))
    assert all(torch.equal(a[level], b[level]) for level in a)
