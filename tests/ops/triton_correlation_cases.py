"""Cases of the Triton cost-volume kernels on CPU tensors under Triton's interpreter, run by
``tests/ops/test_scan_triton.py`` in a child pytest with ``TRITON_INTERPRET=1``; skipped anywhere else."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.ops.correlation import cosine_correlation, local_correlation, local_correlation_reference
from tests.ops.interpreter import require_interpreter, shrink_blocks

require_interpreter()


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    shrink_blocks(monkeypatch, "correlation_triton", BLOCK_P=16, BLOCK_C=4)


# (B, C, H, W), radius: borders wider than the map, channels over several blocks, channels-last
CASES = [((1, 3, 4, 5), 1, False), ((1, 6, 4, 5), 2, True), ((1, 2, 3, 3), 2, False)]


@pytest.mark.parametrize(("shape", "radius", "channels_last"), CASES)
def test_values_and_gradients_match_the_unfold_reference(
    shape: tuple[int, ...], radius: int, channels_last: bool
) -> None:
    generator = torch.Generator().manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    f1, f2 = (torch.randn(shape, generator=generator, dtype=torch.float64) for _ in range(2))
    f1, f2 = (f.contiguous(memory_format=layout).requires_grad_() for f in (f1, f2))
    out = local_correlation(f1, f2, radius, impl="triton")
    expected = local_correlation_reference(f1, f2, radius)
    torch.testing.assert_close(out, expected)
    weights = torch.randn(expected.shape, generator=generator, dtype=torch.float64)
    got = torch.autograd.grad(out, (f1, f2), weights)
    for a, b in zip(got, torch.autograd.grad(expected, (f1, f2), weights), strict=True):
        torch.testing.assert_close(a, b)


def test_cosine_cost_volume_under_bf16_autocast() -> None:
    """bf16 features: float32 costs equal to the compiled/shifted CPU path, bf16 gradients."""
    generator = torch.Generator().manual_seed(1)
    f1, f2 = (torch.randn(1, 5, 4, 6, generator=generator).bfloat16().requires_grad_() for _ in range(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = cosine_correlation(f1, f2, 1, impl="triton")
        expected = cosine_correlation(f1, f2, 1)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)
    grads = torch.autograd.grad(out.sum(), (f1, f2))
    assert all(g.dtype == torch.bfloat16 and torch.isfinite(g).all() for g in grads)


def test_costs_stored_in_the_estimators_dtype() -> None:
    """``dtype=bf16``: the float32 costs rounded once (to within one bf16 step: the interpreter truncates where a
    GPU rounds to nearest), and the same gradients as float32 costs cast to bf16."""
    generator = torch.Generator().manual_seed(2)
    f1, f2 = (torch.randn(2, 6, 5, 4, generator=generator).requires_grad_() for _ in range(2))
    out = cosine_correlation(f1, f2, 1, impl="triton", dtype=torch.bfloat16)
    expected = cosine_correlation(f1, f2, 1, impl="shifted").to(torch.bfloat16)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), expected.float(), atol=1e-7, rtol=2**-7)
    weights = torch.randn(out.shape, generator=generator).bfloat16()
    got = torch.autograd.grad(out, (f1, f2), weights)
    for a, b in zip(got, torch.autograd.grad(expected, (f1, f2), weights), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
