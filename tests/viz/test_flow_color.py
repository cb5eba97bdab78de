"""flow_to_color: HSV wheel, hue = direction, saturation = magnitude."""

from __future__ import annotations

import torch

from flowdeblur.viz.flow_color import flow_to_color


def test_directions_and_magnitudes_map_to_wheel_colours() -> None:
    # columns: +x, +y, -x, -y (all magnitude 2), half magnitude +x, zero
    flow = torch.tensor([[2.0, 0.0, -2.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, -2.0, 0.0, 0.0]]).view(2, 1, 6)
    rgb = flow_to_color(flow)[:, 0].T
    expected = torch.tensor(
        [[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 1.0, 1.0], [0.5, 0.0, 1.0], [1.0, 0.5, 0.5], [1.0, 1.0, 1.0]]
    )
    assert torch.allclose(rgb, expected, atol=1e-5)


def test_batched_shape_and_fixed_scale() -> None:
    flow = torch.randn(2, 4, 2, 8, 8)
    rgb = flow_to_color(flow, max_magnitude=100.0)
    assert rgb.shape == (2, 4, 3, 8, 8)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert rgb.min() > 0.9  # small flow on a large scale is nearly white
    assert torch.equal(flow_to_color(torch.zeros(2, 3, 3)), torch.ones(3, 3, 3))
