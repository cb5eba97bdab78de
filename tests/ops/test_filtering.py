"""Per-pixel filtering: known answers, the shift-and-accumulate version against unfold, gradients, memory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.ops.filtering import per_pixel_filter, per_pixel_filter_reference

# (B, C, G, k, H, W): per channel, grouped, shared, filters wider than the image, k = 1
CASES = [(2, 4, 4, 3, 7, 9), (1, 6, 2, 5, 6, 5), (2, 3, 1, 3, 1, 8), (1, 2, 1, 7, 3, 3), (1, 2, 2, 1, 4, 4)]


def inputs(b: int, c: int, g: int, k: int, h: int, w: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, h, w, generator=generator, dtype=torch.float64)
    filters = torch.randn(b, g * k * k, h, w, generator=generator, dtype=torch.float64)
    return x, filters


def delta(b: int, g: int, k: int, h: int, w: int, offset: tuple[int, int] = (0, 0)) -> Tensor:
    """Filters that pick the pixel ``offset`` = (dy, dx) away."""
    filters = torch.zeros(b, g, k, k, h, w)
    filters[:, :, k // 2 + offset[0], k // 2 + offset[1]] = 1.0
    return filters.view(b, g * k * k, h, w)


@pytest.mark.parametrize("impl", ["reference", "fast"])
def test_delta_filter_is_identity(impl: str) -> None:
    x = torch.randn(2, 6, 9, 11)
    assert torch.equal(per_pixel_filter(x, delta(2, 3, 5, 9, 11), 5, impl), x)


@pytest.mark.parametrize("impl", ["reference", "fast"])
def test_off_centre_delta_shifts_with_zero_padding(impl: str) -> None:
    """Tap (i, j) reads the pixel (i - k//2, j - k//2) away: a delta at (+1, -2) shifts by (-1, +2)."""
    x = torch.randn(1, 2, 6, 7)
    out = per_pixel_filter(x, delta(1, 1, 5, 6, 7, offset=(1, -2)), 5, impl)
    expected = torch.zeros_like(x)
    expected[..., :-1, 2:] = x[..., 1:, :-2]
    assert torch.equal(out, expected)


@pytest.mark.parametrize("impl", ["reference", "fast"])
def test_shared_constant_filter_is_a_convolution(impl: str) -> None:
    """The same filter at every pixel and G = 1 equals a depthwise cross-correlation with zero padding."""
    x, _ = inputs(2, 4, 1, 3, 8, 10)
    kernel = torch.randn(3, 3, dtype=torch.float64)
    filters = kernel.reshape(1, 9, 1, 1).expand(2, 9, 8, 10)
    expected = F.conv2d(x, kernel.expand(4, 1, 3, 3), padding=1, groups=4)
    torch.testing.assert_close(per_pixel_filter(x, filters, 3, impl), expected)


@pytest.mark.parametrize("case", CASES)
def test_fast_matches_reference(case: tuple[int, ...]) -> None:
    x, filters = inputs(*case)
    k = case[3]
    x.requires_grad_(True)
    filters.requires_grad_(True)
    fast, reference = per_pixel_filter(x, filters, k), per_pixel_filter_reference(x, filters, k)
    torch.testing.assert_close(fast, reference)
    weights = torch.randn_like(fast)
    fast_grads = torch.autograd.grad((fast * weights).sum(), (x, filters))
    reference_grads = torch.autograd.grad((reference * weights).sum(), (x, filters))
    for a, b in zip(fast_grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b)


def test_channels_last_inputs() -> None:
    x, filters = inputs(2, 4, 2, 3, 6, 7)
    x_cl = x.to(memory_format=torch.channels_last).requires_grad_(True)
    f_cl = filters.to(memory_format=torch.channels_last).requires_grad_(True)
    out = per_pixel_filter(x_cl, f_cl, 3)
    torch.testing.assert_close(out, per_pixel_filter_reference(x, filters, 3))
    grads = torch.autograd.grad(out.square().sum(), (x_cl, f_cl))
    x.requires_grad_(True)
    filters.requires_grad_(True)
    expected = torch.autograd.grad(per_pixel_filter_reference(x, filters, 3).square().sum(), (x, filters))
    for a, b in zip(grads, expected, strict=True):
        torch.testing.assert_close(a, b)


def test_mixed_dtypes_use_the_wider_one() -> None:
    x, filters = inputs(1, 4, 2, 3, 5, 6)
    x = x.float().bfloat16()
    out = per_pixel_filter(x, filters.float(), 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, per_pixel_filter_reference(x.float(), filters.float(), 3))


@pytest.mark.parametrize("case", [(1, 2, 2, 3, 4, 5), (2, 4, 2, 3, 3, 4), (1, 2, 1, 5, 3, 4)])
def test_gradcheck(case: tuple[int, ...]) -> None:
    x, filters = inputs(*case)
    k = case[3]
    args = (x.requires_grad_(), filters.requires_grad_())
    assert torch.autograd.gradcheck(lambda a, f: per_pixel_filter(a, f, k), args)


def test_gradient_of_only_one_input() -> None:
    x, filters = inputs(1, 4, 2, 3, 5, 6)
    filters.requires_grad_(True)
    (grad,) = torch.autograd.grad(per_pixel_filter(x, filters, 3).sum(), filters)
    (expected,) = torch.autograd.grad(per_pixel_filter_reference(x, filters, 3).sum(), filters)
    torch.testing.assert_close(grad, expected)


def test_forward_allocates_only_the_output() -> None:
    """Under the profiler's CPU memory accounting, the fast forward allocates one output and nothing else."""
    x = torch.randn(1, 16, 48, 64)
    filters = torch.randn(1, 16 * 25, 48, 64)
    cpu = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=cpu, profile_memory=True) as prof:
        per_pixel_filter(x, filters, 5)
    allocated = sum(e.self_cpu_memory_usage for e in prof.events() if e.self_cpu_memory_usage > 0)
    assert allocated == x.numel() * x.element_size()


def test_invalid_shapes() -> None:
    x = torch.zeros(1, 4, 5, 5)
    with pytest.raises(ValueError, match="odd"):
        per_pixel_filter(x, torch.zeros(1, 16, 5, 5), 4)
    with pytest.raises(ValueError, match="G dividing"):
        per_pixel_filter(x, torch.zeros(1, 27, 5, 5), 3)
    with pytest.raises(ValueError, match="same"):
        per_pixel_filter(x, torch.zeros(1, 9, 5, 6), 3)
    with pytest.raises(ValueError, match="impl"):
        per_pixel_filter(x, torch.zeros(1, 9, 5, 5), 3, impl="unfold")
