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
