"""The target features repeated per neighbour in the cost-volume flow network: values, layout and gradient."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.flow.pwc import repeated_per_neighbour


@pytest.mark.parametrize("channels_last", [True, False])
def test_each_target_repeated_per_neighbour_in_the_encoders_layout(channels_last: bool) -> None:
    generator = torch.Generator().manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    pyramid = torch.randn(6, 5, 4, 3, generator=generator).contiguous(memory_format=layout).requires_grad_()
    target = pyramid.unflatten(0, (2, 3))[:, :1]  # (B=2, 1, C, h, w) out of a 3-frame window
    repeated = repeated_per_neighbour(target, 2, channels_last)
    assert repeated.shape == (4, 5, 4, 3) and repeated.is_contiguous(memory_format=layout)
    for row in range(4):
        assert torch.equal(repeated[row], pyramid[3 * (row // 2)])
    weights = torch.randn(repeated.shape, generator=generator)
    (grad,) = torch.autograd.grad(repeated, pyramid, weights)
    torch.testing.assert_close(grad[0], weights[0] + weights[1])
    torch.testing.assert_close(grad[3], weights[2] + weights[3])
    assert grad[[1, 2, 4, 5]].abs().sum() == 0
