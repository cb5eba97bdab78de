"""Cases of the Triton census kernels on CPU tensors under Triton's interpreter, run by
``tests/ops/test_scan_triton.py`` in a child pytest with ``TRITON_INTERPRET=1``; skipped anywhere else."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.losses.census import census_distance, census_distances
from tests.ops.interpreter import require_interpreter, shrink_blocks

require_interpreter()


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    shrink_blocks(monkeypatch, "census_triton", BLOCK_P=16)


# (B, H, W), radius, channels-last, gradient of a too, R (a has B / R images): images narrower than the window,
# odd sizes, each image of a against two of b (its gradient summed over both)
CASES = [
    ((2, 5, 7), 3, False, False, 1),
    ((1, 9, 4), 3, True, True, 1),
    ((2, 3, 3), 1, False, True, 1),
    ((4, 5, 6), 2, True, True, 2),
]


@pytest.mark.parametrize(("shape", "radius", "channels_last", "grad_a", "repeat"), CASES)
def test_values_and_gradients_match_the_pytorch_census(
    shape: tuple[int, int, int], radius: int, channels_last: bool, grad_a: bool, repeat: int
) -> None:
    generator = torch.Generator().manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    b, h, w = shape
    a = torch.rand(b // repeat, 3, h, w, generator=generator, dtype=torch.float64)
    c = torch.rand(b, 3, h, w, generator=generator, dtype=torch.float64)
    a = a.contiguous(memory_format=layout).requires_grad_(grad_a)
    c = c.contiguous(memory_format=layout).requires_grad_()
    out = census_distance(a, c, radius, impl="triton")
    expected = census_distance(a, c, radius, impl="torch")
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    weights = torch.rand(expected.shape, generator=generator, dtype=torch.float64)
    inputs = (a, c) if grad_a else (c,)
    got = torch.autograd.grad(out, inputs, weights)
    for g, e in zip(got, torch.autograd.grad(expected, inputs, weights), strict=True):
        assert g.stride() == e.stride() or g.is_contiguous(memory_format=layout)
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_float32_levels_as_the_warping_loss_calls_it() -> None:
    """Three pairs of levels, float32, two targets against two neighbours each, gradient to the warped side only:
    values within float32 rounding."""
    generator = torch.Generator().manual_seed(1)
    images = [(torch.rand(n, 3, s, s + 3, generator=generator) for n in (2, 4)) for s in (8, 4, 2)]
    pairs = [(a, b.requires_grad_()) for a, b in images]
    got = census_distances(pairs, 3, impl="triton")
    expected = census_distances(pairs, 3, impl="torch")
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
    loss_got = sum(g.sum() for g in got)
    loss_expected = sum(e.sum() for e in expected)
    grads = torch.autograd.grad(loss_got, [b for _, b in pairs])
    for g, e in zip(grads, torch.autograd.grad(loss_expected, [b for _, b in pairs]), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)
