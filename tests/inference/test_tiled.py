"""Strips: they partition the frame, carry the spatial RNN's column scans exactly, and equal whole frames."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.heads.rnn_gates import RNNGatesHead
from flowdeblur.inference.tiled import TiledNet
from flowdeblur.layers.spatial_rnn import SpatialRNN
from flowdeblur.network import NetOutput, build_net
from flowdeblur.ops.tiling import plan_strips
from tests.helpers import compose_config


def psnr(a: Tensor, b: Tensor) -> float:
    return -10 * math.log10(float((a.double() - b.double()).pow(2).mean()))


@pytest.mark.parametrize(
    ("height", "rows", "context", "stride"),
    [
        (100, 32, 8, 8),
        (64, 64, 16, 8),
        (65, 16, 0, 8),
        (720, 136, 64, 8),
        (30, 48, 8, 4),
        (97, 20, 10, 1),
    ],
)
def test_strips_partition_the_frame_on_the_stride_grid(height: int, rows: int, context: int, stride: int) -> None:
    strips = plan_strips(height, rows, context, stride)
    assert strips[0].start == 0 and strips[-1].stop == height
    assert all(a.stop == b.start for a, b in zip(strips, strips[1:], strict=False))
    for s in strips:
        assert 0 <= s.top <= s.start < s.stop <= s.bottom <= height
        assert s.top % stride == 0 and s.start % stride == 0
        assert s.start - s.top >= min(context, s.start) and s.bottom - s.stop >= min(context, height - s.stop)
        assert s.stop == height or (s.stop % stride == 0 and s.stop - s.start >= rows)


class ScanNet(nn.Module):
    """A spatial RNN alone: frame 0 is scanned, frame 1 gives gates in [-0.99, 0.99] (no local context)."""

    stride = 1

    def __init__(self) -> None:
        super().__init__()
        self.rnn = SpatialRNN(3)

    def forward(self, frames: Tensor, target: int) -> NetOutput:
        gates = (0.99 * (2 * frames[:, 1] - 1)).repeat(1, 4, 1, 1)
        restored = self.rnn(frames[:, 0], gates)
        return NetOutput(restored=restored, motion=MotionFeatures(features={}, flows={}), weights={})


@pytest.mark.parametrize("rows", [1, 5, 16])
def test_column_scans_are_carried_exactly_across_strips(rows: int) -> None:
    torch.manual_seed(0)
    net, frames = ScanNet(), torch.rand(2, 2, 3, 37, 11)
    frames[:, 1] = 0.5 + 0.5 * frames[:, 1].sign() * frames[:, 1].abs().pow(0.01)  # |g| ~ 0.98: long reach
    with torch.no_grad():
        whole = net(frames, 0).restored
        strips = TiledNet(net, rows, 0)(frames, 0).restored
        naive = torch.cat([net(frames[..., s.top : s.bottom, :], 0).restored for s in plan_strips(37, rows, 0)], dim=-2)
    assert torch.allclose(strips, whole, atol=1e-5)
    assert float((naive - whole).abs().max()) > 0.05  # strips without the carry are far off


def strong_gated_net(gate: float = 0.97) -> nn.Module:
    """The default network leaning on long column scans: every spatial RNN's gates near ``gate`` (output bias of
    the gate heads), its merge keeping the two vertical scans only, and a non-trivial output residual."""
    torch.manual_seed(0)
    net = build_net(compose_config([]).model).eval()
    nn.init.normal_(net.deblurrer.out.weight, std=0.1)
    heads = [m for m in net.modules() if isinstance(m, RNNGatesHead)]
    assert len(heads) == 3
    for head in heads:
        nn.init.constant_([c for c in head.modules() if isinstance(c, nn.Conv2d)][-1].bias, math.atanh(gate))
    for layer in (m for m in net.modules() if isinstance(m, SpatialRNN)):
        c = layer.channels
        weight = torch.cat([torch.zeros(c, 2 * c), torch.eye(c), torch.eye(c)], dim=1)
        layer.merge.weight.data.copy_(weight.view(c, 4 * c, 1, 1))
    return net


def scene(height: int = 160, width: int = 96) -> Tensor:
    """(1, 3, 3, H, W): a photo drifting down by 2 px per frame."""
    from skimage import data

    img = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
    return torch.stack([img[:, 100 + 2 * i : 100 + 2 * i + height, 150 : 150 + width] for i in range(3)])[None]


def test_strips_equal_whole_frames_with_strong_gates() -> None:
    net, frames = strong_gated_net(), scene()
    gates: list[Tensor] = []
    hook = [m for m in net.modules() if isinstance(m, SpatialRNN)][-1].register_forward_pre_hook(
        lambda module, args: gates.append(args[1])
    )
    with torch.no_grad():
        whole = net(frames, 1).restored
        hook.remove()
        tiled_net = TiledNet(net, 32)  # five strips, the default context rows
        tiled = tiled_net(frames, 1).restored
        naive = torch.cat(
            [
                net(frames[..., s.top : s.bottom, :], 1).restored[..., s.start - s.top : s.stop - s.top, :]
                for s in plan_strips(160, 32, tiled_net.overlap, net.stride)
            ],
            dim=-2,
        )
    assert 0.9 < float(gates[0].abs().median()) < 0.99
    assert psnr(whole, frames[:, 1]) < 30  # the network changes the frame
    assert psnr(tiled, whole) >= 45
    assert psnr(naive, whole) < psnr(tiled, whole) - 10  # strips without carrying the column scans


def test_the_memory_budget_chooses_whole_frames_or_strips() -> None:
    net, frames = strong_gated_net(), scene(height=320)
    probe = TiledNet(net)
    per_frame_mb = probe.bytes_per_pixel() * 320 * 96 / 2**20
    assert per_frame_mb > 1
    assert TiledNet(net, max_memory_mb=1.1 * per_frame_mb).strip_rows(frames) is None
    limited = TiledNet(net, max_memory_mb=0.8 * per_frame_mb)
    rows = limited.strip_rows(frames)
    assert rows is not None and rows % net.stride == 0 and 0 < rows < 320
    assert (rows + 2 * limited.overlap) * 96 * probe.bytes_per_pixel() <= 0.8 * per_frame_mb * 2**20
    with torch.no_grad():
        assert psnr(limited(frames, 1).restored, net(frames, 1).restored) >= 45
    with pytest.raises(ValueError, match="max_memory_mb: .* cannot hold a strip"):
        TiledNet(net, max_memory_mb=0.05 * per_frame_mb).strip_rows(frames)


def test_whole_frames_pass_through_with_every_output() -> None:
    net = build_net(compose_config([]).model).eval()
    frames = torch.rand(1, 3, 3, 32, 40)
    with torch.no_grad():
        whole = TiledNet(net, 64)(frames, 1)
        strips = TiledNet(net, 16, 8)(frames, 1)
    assert whole.motion.flows and not strips.motion.flows
    assert torch.equal(TiledNet(net)(frames, 1).restored, whole.restored)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"tile": -1}, "tile"),
        ({"overlap": -2}, "tile_overlap"),
        ({"max_memory_mb": 0}, "max_memory_mb"),
    ],
)
def test_bad_options_name_themselves(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        TiledNet(ScanNet(), **kwargs)
