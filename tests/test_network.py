"""FlowDeblurNet's frame window: checked once, the middle frame by default."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.network import build_net, check_window_size, default_target
from tests.footage import SMALL_MODEL
from tests.helpers import compose_config


@pytest.mark.parametrize(("num_frames", "target"), [(2, 1), (3, 1), (5, 2)])
def test_the_default_target_is_the_middle_frame(num_frames: int, target: int) -> None:
    assert default_target(num_frames) == target
    assert check_window_size(num_frames, None) == (num_frames, target)


@pytest.mark.parametrize(
    ("num_frames", "target", "option"), [(1, None, "model.num_frames"), (3, 3, "model.target"), (3, -1, "model.target")]
)
def test_a_bad_window_names_its_option(num_frames: int, target: int | None, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        check_window_size(num_frames, target)


def test_the_network_takes_only_its_own_window_length() -> None:
    net = build_net(compose_config([*SMALL_MODEL, "model.num_frames=3"]).model).eval()
    assert (net.num_frames, net.target) == (3, 1)
    with torch.no_grad():
        assert net(torch.rand(1, 3, 3, 32, 32), net.target).restored.shape == (1, 3, 32, 32)
        with pytest.raises(ValueError, match="model.num_frames"):
            net(torch.rand(1, 4, 3, 32, 32), 1)


def test_aligned_window_warps_each_neighbour_onto_the_target() -> None:
    """A scene translated by whole pixels: with the true flow (target -> neighbour, at level 1) the aligned
    neighbours equal the target away from the border; the target stays untouched."""
    from flowdeblur.deblurrers.align import align_window

    scene = torch.rand(1, 3, 40, 40)
    frames = torch.stack([scene[..., 4:36, 2:34], scene[..., 4:36, 4:36], scene[..., 4:36, 8:40]], dim=1)
    flows = torch.zeros(1, 2, 2, 16, 16)
    flows[:, 0, 0], flows[:, 1, 0] = 1.0, -2.0  # half-resolution pixels: +2 and -4 full-resolution pixels
    aligned = align_window(frames, 1, {1: flows, 2: torch.zeros(1, 2, 2, 8, 8)})
    assert aligned.shape == frames.shape
    assert torch.equal(aligned[:, 1], frames[:, 1])
    inside = (..., slice(4, 28), slice(4, 24))
    assert torch.allclose(aligned[:, 0][inside], frames[:, 1][inside], atol=1e-5)
    assert torch.allclose(aligned[:, 2][inside], frames[:, 1][inside], atol=1e-5)
    assert not torch.allclose(frames[:, 0][inside], frames[:, 1][inside], atol=1e-2)
