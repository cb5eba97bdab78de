"""Cases of the Triton flow-smoothness kernels on CPU tensors under Triton's interpreter, run by
``tests/ops/test_scan_triton.py`` in a child pytest with ``TRITON_INTERPRET=1``; skipped anywhere else."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.losses.warping import smoothness_loss, smoothness_losses
from tests.ops.interpreter import require_interpreter, shrink_blocks

require_interpreter()


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    shrink_blocks(monkeypatch, "smoothness_triton", BLOCK_P=16)


# (B, N, H, W), channels-last image: 2×2, odd sizes, one and two neighbours
CASES = [((2, 2, 5, 7), False), ((1, 1, 2, 2), True), ((3, 2, 9, 4), True)]


@pytest.mark.parametrize(("shape", "channels_last"), CASES)
def test_values_and_gradients_match_the_pytorch_smoothness(shape: tuple[int, ...], channels_last: bool) -> None:
    generator = torch.Generator().manual_seed(0)
    b, n, h, w = shape
    flow = torch.randn(b, n, 2, h, w, generator=generator, dtype=torch.float64)
    flow[..., 0, :] = flow[..., 1, :]  # equal neighbours: differences of exactly 0, whose gradient is 0
    flow.requires_grad_()
    image = torch.rand(b, 3, h, w, generator=generator, dtype=torch.float64)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    got = smoothness_loss(flow, image, 10.0, impl="triton")
    expected = smoothness_loss(flow, image, 10.0, impl="torch")
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=0)
    grads = [torch.autograd.grad(loss * 3.0, flow)[0] for loss in (got, expected)]
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-6, atol=1e-12)


def test_float32_levels_as_the_warping_loss_calls_it() -> None:
    generator = torch.Generator().manual_seed(1)
    flows = [torch.randn(2, 2, 2, s, s + 1, generator=generator).requires_grad_() for s in (8, 4, 2)]
    images = [torch.rand(2, 3, s, s + 1, generator=generator) for s in (8, 4, 2)]
    got = smoothness_losses(flows, images, impl="triton")
    expected = smoothness_losses(flows, images, impl="torch")
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
    weights = torch.tensor([0.2, 0.3, 0.5])
    for g, e in zip(
        torch.autograd.grad((got * weights).sum(), flows),
        torch.autograd.grad((expected * weights).sum(), flows),
        strict=True,
    ):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-7)


def test_images_that_need_a_gradient_take_the_pytorch_version() -> None:
    flow = torch.randn(1, 1, 2, 4, 4, requires_grad=True)
    image = torch.rand(1, 3, 4, 4, requires_grad=True)
    loss = smoothness_loss(flow, image, impl="triton")
    assert torch.autograd.grad(loss, image)[0].abs().sum() > 0


def test_channels_last_flows_of_two_neighbours_read_their_target() -> None:
    """Flows laid out as the flow network's channels-last heads give them, (B, N, 2, h, w) with N = 2: each
    neighbour's row takes its edges from its own target image."""
    generator = torch.Generator().manual_seed(2)
    rows = torch.randn(6, 2, 5, 7, generator=generator).contiguous(memory_format=torch.channels_last)
    flow = rows.unflatten(0, (3, 2)).requires_grad_()
    image = torch.rand(3, 3, 5, 7, generator=generator)
    got = smoothness_loss(flow, image, 10.0, impl="triton")
    expected = smoothness_loss(flow, image, 10.0, impl="torch")
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
    grads = [torch.autograd.grad(loss, flow)[0] for loss in (got, expected)]
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-7)
