"""Cases of the Triton occlusion-masked means on CPU tensors under Triton's interpreter, run by
``tests/ops/test_scan_triton.py`` in a child pytest with ``TRITON_INTERPRET=1``; skipped anywhere else."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from flowdeblur.losses.warping import masked_means
from tests.ops.interpreter import require_interpreter, shrink_blocks

require_interpreter()


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    shrink_blocks(monkeypatch, "occlusion_triton", BLOCK=64, BLOCK_E=16, BLOCK_R=2)


SIZES = [(9, 11), (5, 6), (3, 3)]  # three levels; the finest row in two blocks, the last one partial


def levels(seed: int, rows: int = 4, low: float = 0.0, step: float = 0.0) -> tuple[list[Tensor], list[Tensor]]:
    """Errors in [low, 1) (multiples of ``step`` when given: ties) and valid masks of about 80 % ones."""
    generator = torch.Generator().manual_seed(seed)
    errors, valids = [], []
    for h, w in SIZES:
        error = low + (1.0 - low) * torch.rand(rows, 1, h, w, generator=generator)
        errors.append((error / step).floor() * step if step else error)
        valids.append((torch.rand(rows, 1, h, w, generator=generator) < 0.8).float())
    return errors, valids


def both(errors: list[Tensor], valids: list[Tensor], quantile: float | Tensor, erosion: int) -> list[Tensor]:
    """masked_means by the kernels and by PyTorch, each from its own leaf copies; and their gradients."""
    results = []
    for impl in ("triton", "torch"):
        leaves = [e.clone().requires_grad_() for e in errors]
        means = masked_means(leaves, valids, quantile, erosion, impl=impl)
        weights = torch.tensor([0.2, 0.3, 0.5])
        results.append((means, torch.autograd.grad((means * weights).sum(), leaves)))
    return results


@pytest.mark.parametrize(
    ("quantile", "erosion", "step", "low"),
    [(0.9, 3, 0.0, 0.0), (0.5, 1, 0.0, 0.0), (1.0, 0, 0.0, 0.0), (0.7, 1, 0.125, 0.0), (0.8, 0, 0.0, -1.0)],
)
def test_values_and_gradients_match_the_pytorch_masked_means(
    quantile: float, erosion: int, step: float, low: float
) -> None:
    """Quantiles with and without interpolation, erosion radii 0/1/3 (3 wider than the coarsest level), tied
    errors (multiples of 1/8), negative errors (the keys' sign handling); 0-d float64 quantiles as the loss's
    schedule passes them, and the float 1.0."""
    errors, valids = levels(int(quantile * 10) + erosion, low=low, step=step)
    q = quantile if quantile == 1.0 else torch.tensor(quantile, dtype=torch.float64)
    (got, got_grads), (expected, expected_grads) = both(errors, valids, q, erosion)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    for g, e in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-9)


def test_rows_without_usable_pixels_and_nan_errors() -> None:
    """A row whose mask is all zero keeps nothing (its level's mean is that of the other rows); a NaN error of a
    valid pixel makes the level's mean NaN in both versions."""
    errors, valids = levels(5)
    valids[1][2] = 0.0
    valids[2][:] = 0.0  # a level with nothing valid: mean 0
    (got, _), (expected, _) = both(errors, valids, torch.tensor(0.9), 1)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    assert float(got[2].detach()) == 0.0
    errors[0][1, 0, 2, 3] = float("nan")
    (got, _), (expected, _) = both(errors, valids, torch.tensor(0.9), 1)
    assert torch.isnan(got[0]) and torch.isnan(expected[0])
    torch.testing.assert_close(got[1:], expected[1:])
