"""The census transform against the per-shift formula it replaced (slices of the padded image, concatenated)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.losses.census import LUMA, census_distance, census_transform


def shifted_census(image: Tensor, radius: int) -> Tensor:
    """(B, 3, H, W) -> (B, (2r+1)² - 1, H, W): one slice per neighbour offset, row by row, centre left out."""
    gray = 255.0 * (image * torch.tensor(LUMA, dtype=image.dtype).view(1, 3, 1, 1)).sum(1, keepdim=True)
    h, w = gray.shape[-2:]
    size = 2 * radius + 1
    padded = F.pad(gray, [radius] * 4, mode="replicate")
    shifts = [(dy, dx) for dy in range(size) for dx in range(size) if (dy, dx) != (radius, radius)]
    diffs = torch.cat([padded[..., dy : dy + h, dx : dx + w] for dy, dx in shifts], dim=1) - gray
    return diffs / torch.sqrt(0.81 + diffs * diffs)


@pytest.mark.parametrize("radius", [1, 3])
def test_census_transform_equals_per_shift_formula(radius: int) -> None:
    image = torch.rand(2, 3, 9, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert census_transform(image, radius).shape == (2, (2 * radius + 1) ** 2 - 1, 9, 13)
    torch.testing.assert_close(census_transform(image, radius), shifted_census(image, radius), rtol=0, atol=0)


def test_census_distance_and_gradients_equal_per_shift_formula() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.rand(3, 3, 11, 8, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.rand(3, 3, 11, 8, dtype=torch.float64, generator=g, requires_grad=True)
    new = census_distance(a, b)
    diff = (shifted_census(a, 3) - shifted_census(b, 3)).pow(2)
    old = (diff / (0.1 + diff)).mean(1, keepdim=True)
    torch.testing.assert_close(new, old, rtol=1e-12, atol=1e-12)
    weights = torch.rand_like(new)
    grads_new = torch.autograd.grad((new * weights).sum(), (a, b))
    grads_old = torch.autograd.grad((old * weights).sum(), (a, b))
    for got, want in zip(grads_new, grads_old, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
