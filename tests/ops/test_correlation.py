"""Local correlation: known answers, agreement with the unfold reference, gradients; the cosine cost volume."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.ops.correlation import (
    cosine_correlation,
    kernel,
    local_correlation,
    local_correlation_reference,
    shifted_backward,
    shifted_forward,
)


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (2, -1), (-3, 3), (1, 2)])
def test_peaks_at_the_shift(dx: int, dy: int) -> None:
    """f2(p + d) = f1(p), unit-norm features => every interior pixel peaks at channel k(d), value 1 / C.

    (Cauchy–Schwarz: no other displacement can reach it.)
    """
    radius = 3
    torch.manual_seed(0)
    big = torch.nn.functional.normalize(torch.randn(2, 16, 30, 30), dim=1)
    f1 = big[..., 5:25, 5:25]
    f2 = big[..., 5 - dy : 25 - dy, 5 - dx : 25 - dx]
    out = local_correlation(f1, f2, radius)
    k = (dy + radius) * (2 * radius + 1) + (dx + radius)
    assert (out.argmax(1)[:, 3:-3, 3:-3] == k).all()
    torch.testing.assert_close(out[:, k, 3:-3, 3:-3], torch.full((2, 14, 14), 1 / 16))


def test_out_of_frame_samples_are_zero() -> None:
    f = torch.ones(1, 4, 5, 5)
    out = local_correlation(f, f, 1)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 1, 1] == 1 and out[0, 8, -1, -1] == 0 and out[0, 4].eq(1).all()


def test_matches_reference_and_its_gradients() -> None:
    torch.manual_seed(0)
    f1 = torch.randn(2, 5, 9, 11, dtype=torch.double, requires_grad=True)
    f2 = torch.randn(2, 5, 9, 11, dtype=torch.double, requires_grad=True)
    fast, reference = local_correlation(f1, f2, 2), local_correlation_reference(f1, f2, 2)
    torch.testing.assert_close(fast, reference)
    weights = torch.randn_like(fast)
    fast_grads = torch.autograd.grad((fast * weights).sum(), (f1, f2))
    reference_grads = torch.autograd.grad((reference * weights).sum(), (f1, f2))
    for a, b in zip(fast_grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b)


def test_gradcheck() -> None:
    f1 = torch.randn(1, 3, 5, 6, dtype=torch.double, requires_grad=True)
    f2 = torch.randn(1, 3, 5, 6, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: local_correlation(a, b, 1), (f1, f2))


def test_mixed_dtypes_promote() -> None:
    f1, f2 = torch.randn(1, 4, 6, 6).bfloat16(), torch.randn(1, 4, 6, 6)
    assert local_correlation(f1, f2, 1).dtype == torch.float32


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (2, -1), (-1, 3)])
def test_cosine_peaks_at_the_shift_at_one_despite_a_common_offset(dx: int, dy: int) -> None:
    """Features with a large shared positive part (as LeakyReLU features have): the cosine cost still peaks at
    the true shift, with value exactly 1, and is unchanged by a per-pixel scale and offset of the channel vectors."""
    radius = 3
    torch.manual_seed(0)
    big = torch.randn(2, 16, 30, 30) + 4.0
    f1 = big[..., 5:25, 5:25]
    f2 = big[..., 5 - dy : 25 - dy, 5 - dx : 25 - dx]
    out = cosine_correlation(f1, f2, radius)
    k = (dy + radius) * (2 * radius + 1) + (dx + radius)
    assert (out.argmax(1)[:, 3:-3, 3:-3] == k).all()
    torch.testing.assert_close(out[:, k, 3:-3, 3:-3], torch.ones(2, 14, 14))
    assert out.abs().max() <= 1 + 1e-5
    scale, offset = torch.rand(2, 1, 20, 20) + 0.5, torch.randn(2, 1, 20, 20)
    torch.testing.assert_close(cosine_correlation(f1 * scale + offset, f2, radius), out, atol=1e-5, rtol=1e-5)


def test_cosine_is_float32_under_bf16_autocast() -> None:
    """The cost volume is computed in float32 whatever the autocast: bf16 inputs give the fp32 answer of the same
    (bf16-rounded) features."""
    torch.manual_seed(0)
    f1, f2 = torch.randn(1, 8, 12, 12).bfloat16(), torch.randn(1, 8, 12, 12).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = cosine_correlation(f1, f2, 2)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, cosine_correlation(f1.float(), f2.float(), 2))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(("shape", "radius"), [((2, 5, 9, 11), 2), ((1, 32, 20, 36), 3), ((3, 3, 4, 5), 3)])
def test_compiled_kernel_equals_shifted_products_and_their_gradients(
    shape: tuple[int, ...], radius: int, channels_last: bool
) -> None:
    """float32 on the CPU takes the compiled kernel: same values and gradients as the shifted products, borders
    (radius larger than the map) included, whatever the memory layout of the inputs."""
    if kernel() is None:
        pytest.skip("no C++ compiler: the shifted products run instead")
    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    f1 = torch.randn(*shape).contiguous(memory_format=layout).requires_grad_()
    f2 = torch.randn(*shape).contiguous(memory_format=layout).requires_grad_()
    out = local_correlation(f1, f2, radius)
    expected = shifted_forward(f1.detach(), f2.detach(), radius)
    torch.testing.assert_close(out, expected)
    assert out.is_contiguous(memory_format=torch.channels_last)
    weights = torch.randn_like(expected)
    grads = torch.autograd.grad((out * weights).sum(), (f1, f2))
    expected_grads = shifted_backward(f1.detach(), f2.detach(), weights, radius)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want)
