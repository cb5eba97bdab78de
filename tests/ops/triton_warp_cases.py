"""Cases of the Triton warp kernels on CPU tensors under Triton's interpreter, run by
``tests/ops/test_scan_triton.py`` in a child pytest with ``TRITON_INTERPRET=1``; skipped anywhere else."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.ops.warp import warp, warp_image
from tests.ops.interpreter import require_interpreter, shrink_blocks

require_interpreter()


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    shrink_blocks(monkeypatch, "warp_triton", BLOCK_P=16)


# (B, C, H, W), channels-last image, gradient of the image: flows reaching out of the frame, odd sizes
CASES = [((2, 3, 5, 7), False, False), ((1, 5, 6, 4), True, True), ((2, 1, 3, 3), False, True)]


@pytest.mark.parametrize(("shape", "channels_last", "grad_image"), CASES)
def test_values_and_gradients_match_grid_sample(shape: tuple[int, ...], channels_last: bool, grad_image: bool) -> None:
    generator = torch.Generator().manual_seed(0)
    b, c, h, w = shape
    image = torch.randn(b, c, h, w, generator=generator, dtype=torch.float64)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    image.requires_grad_(grad_image)
    flow = (3.0 * torch.randn(b, 2, h, w, generator=generator, dtype=torch.float64)).requires_grad_()
    got, got_valid = warp(image, flow, impl="triton")
    expected, expected_valid = warp(image, flow, impl="torch")
    assert got.dtype == expected.dtype and 0 < float(expected_valid.mean()) < 1
    # both warp in float32 (the precision rule of flowdeblur.ops.warp); grid_sample goes through a normalised grid
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_valid, expected_valid, rtol=0, atol=0)
    weights = torch.randn(expected.shape, generator=generator, dtype=torch.float64)
    inputs = (image, flow) if grad_image else (flow,)
    grads = torch.autograd.grad(got, inputs, weights)
    for g, e in zip(grads, torch.autograd.grad(expected, inputs, weights), strict=True):
        assert g.dtype == e.dtype
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


def test_bf16_features_as_the_flow_network_warps_them() -> None:
    """bf16 channels-last features under autocast: float32 output equal to grid_sample's, bf16 feature grads."""
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(2, 6, 8, 8, generator=generator).bfloat16().contiguous(memory_format=torch.channels_last)
    features.requires_grad_()
    flow = torch.randn(2, 2, 8, 8, generator=generator).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = warp_image(features, flow, impl="triton")
        expected = warp_image(features, flow, impl="torch")
    assert got.dtype == expected.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    grads = torch.autograd.grad(got.sum(), (features, flow))
    for g, e in zip(grads, torch.autograd.grad(expected.sum(), (features, flow)), strict=True):
        assert g.dtype == e.dtype
        torch.testing.assert_close(g, e, rtol=2e-2, atol=2e-2)


def test_neighbours_read_in_place_from_a_window() -> None:
    """Images (B, N, C, H, W) sliced out of a (B, T, ...) window (strided, channels-last frames): the same warped
    images, valid masks and gradients as from the flattened copy."""
    generator = torch.Generator().manual_seed(2)
    frames = torch.randn(6, 4, 5, 7, generator=generator).contiguous(memory_format=torch.channels_last)
    window = frames.unflatten(0, (2, 3)).requires_grad_()
    flow = (2.0 * torch.randn(4, 2, 5, 7, generator=generator)).requires_grad_()
    got, got_valid = warp(window[:, 1:], flow, impl="triton")
    expected, expected_valid = warp(window[:, 1:].flatten(0, 1), flow, impl="triton")
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    torch.testing.assert_close(got_valid, expected_valid, rtol=0, atol=0)
    weights = torch.randn(got.shape, generator=generator)
    grads = torch.autograd.grad(got, (window, flow), weights)
    for g, e in zip(grads, torch.autograd.grad(expected, (window, flow), weights), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(warp(window[:, 1:], flow, impl="torch")[0], got, rtol=1e-5, atol=1e-5)
