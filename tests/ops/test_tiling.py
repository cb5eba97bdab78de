"""Tiled forward: covers every pixel, blends seams, equals the untiled forward where both fit."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from flowdeblur.build import build_net
from flowdeblur.ops.tiling import blend_weights, tile_starts, tiled_forward
from flowdeblur.tiled import TiledNet
from tests.helpers import compose_config


@pytest.mark.parametrize(("size", "tile", "overlap"), [
    (100, 32, 8), (64, 64, 16), (65, 64, 16), (720, 384, 32), (30, 48, 8), (97, 20, 10),
])
def test_tiles_cover_the_frame_with_the_overlap(size: int, tile: int, overlap: int) -> None:
    starts = tile_starts(size, tile, overlap)
    covered = torch.zeros(size, dtype=torch.bool)
    for start in starts:
        covered[start:start + tile] = True
    assert bool(covered.all()) and starts[0] == 0 and starts[-1] + min(tile, size) == size
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))
    total = sum(torch.zeros(size, dtype=torch.float64).index_add_(0, torch.arange(s, s + min(tile, size)), w)
                for s, w in zip(starts, blend_weights(starts, tile, overlap, size), strict=True))
    assert float(total.min()) >= 1.0 - 1e-12  # a tile of full weight, or two ramps summing to 1


def test_ramps_ignore_the_pixels_next_to_a_cut() -> None:
    weights = blend_weights([0, 24, 48], 32, 16, 80)
    assert torch.equal(weights[1][:4], torch.zeros(4)) and torch.equal(weights[1][-4:], torch.zeros(4))
    assert torch.equal(weights[0][:16], torch.ones(16)) and torch.equal(weights[2][-16:], torch.ones(16))
    ramp = weights[1][:16]
    assert torch.allclose(ramp + ramp.flip(0), torch.ones(16, dtype=torch.float64))


def test_a_per_pixel_function_is_reproduced_exactly() -> None:
    frames = torch.rand(2, 3, 3, 70, 90)
    out = tiled_forward(lambda x: x[:, 1] * 2 - x[:, 0], frames, 32, 8)
    assert torch.allclose(out, frames[:, 1] * 2 - frames[:, 0], atol=1e-6)


class LocalNet(nn.Module):
    """A deterministic network with a 5x5 receptive field (two 3x3 convolutions)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(9, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def forward(self, frames: Tensor) -> Tensor:
        return self.body(frames.flatten(1, 2))


@pytest.mark.parametrize(("tile", "overlap"), [(32, 8), ((24, 40), 12), (64, 16)])
def test_a_local_network_tiled_equals_untiled(tile: int | tuple[int, int], overlap: int) -> None:
    net, frames = LocalNet(), torch.rand(1, 3, 3, 72, 100)
    with torch.no_grad():
        assert torch.allclose(tiled_forward(net, frames, tile, overlap), net(frames), atol=1e-5)


def test_the_default_network_tiled_equals_untiled() -> None:
    torch.manual_seed(0)
    net = build_net(compose_config([]).model).eval()
    nn.init.normal_(net.deblurrer.out.weight, std=1e-2)  # small random weights: a non-trivial residual
    frames = torch.rand(1, 3, 3, 56, 80)
    with torch.no_grad():
        full = net(frames, 1).restored
        tiled = TiledNet(net, 40, 16)(frames, 1).restored  # 2 x 3 tiles
    assert float((full - frames[:, 1]).abs().max()) > 1e-2
    assert float((tiled - full).abs().max()) < 1e-3


def test_tiled_net_passes_whole_frames_through() -> None:
    net = build_net(compose_config([]).model).eval()
    frames = torch.rand(1, 3, 3, 32, 40)
    with torch.no_grad():
        whole = TiledNet(net, 64)(frames, 1)
        tiled = TiledNet(net, 32, 8)(frames, 1)
    assert whole.motion.flows and not tiled.motion.flows
    assert torch.equal(TiledNet(net, None)(frames, 1).restored, whole.restored)


def test_overlap_larger_than_half_a_tile_is_refused() -> None:
    with pytest.raises(ValueError, match="overlap <= half the tile size 32"):
        tiled_forward(lambda x: x[:, 0], torch.rand(1, 2, 3, 64, 64), 32, 17)
