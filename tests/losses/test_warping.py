"""Warping losses: known answers on translated textures, masking, smoothness, weighting."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.losses.census import census_distance
from flowdeblur.losses.warping import (
    CENSUS_RADIUS,
    WarpingLoss,
    charbonnier_error,
    erode,
    occlusion_mask,
    photometric_loss,
    photometric_losses,
    smoothness_loss,
    smoothness_losses,
)
from flowdeblur.ops.warp import warp

SIZE = 48


def texture(seed: int = 0, size: int = SIZE + 32) -> Tensor:
    """(1, 3, size, size) smooth random texture in [0, 1]."""
    noise = torch.rand(1, 3, size // 2, size // 2, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def translated(dx: int, dy: int) -> tuple[Tensor, Tensor]:
    """target, neighbour (1, 3, SIZE, SIZE) with target(p) = neighbour(p + (dx, dy))."""
    big, o = texture(), 16
    return big[..., o : o + SIZE, o : o + SIZE], big[..., o - dy : o - dy + SIZE, o - dx : o - dx + SIZE]


def constant_flow(dx: float, dy: float, size: int = SIZE, neighbours: int = 1) -> Tensor:
    """(1, N, 2, size, size) constant flow."""
    return torch.tensor([dx, dy], dtype=torch.float).view(1, 1, 2, 1, 1).expand(1, neighbours, 2, size, size)


def test_constant_flow_warp_reproduces_shifted_image() -> None:
    dx, dy = 3, -5
    target, neighbour = translated(dx, dy)
    warped, valid = warp(neighbour, constant_flow(dx, dy)[:, 0])
    ys, xs = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    inside = (xs + dx >= 0) & (xs + dx < SIZE) & (ys + dy >= 0) & (ys + dy < SIZE)
    torch.testing.assert_close(valid[0, 0], inside.float())
    torch.testing.assert_close(warped * valid, target * valid, atol=1e-5, rtol=0)


@pytest.mark.parametrize("penalty", ["census", "charbonnier"])
def test_photometric_zero_for_exact_flow_and_larger_for_zero_flow(penalty: str) -> None:
    target, neighbour = translated(4, -3)
    neighbours = neighbour.unsqueeze(1)
    exact = photometric_loss(target, neighbours, constant_flow(4, -3), penalty, occlusion_quantile=1.0)
    still = photometric_loss(target, neighbours, constant_flow(0, 0), penalty, occlusion_quantile=1.0)
    assert float(exact) < 1e-5
    assert float(still) > 0.02


def test_census_ignores_brightness_offset() -> None:
    image = 0.8 * texture()
    assert census_distance(image, image + 0.1).abs().max() < 1e-6
    assert census_distance(image, texture(seed=1)).mean() > 0.1


def test_occlusion_mask_drops_largest_valid_errors() -> None:
    error = torch.arange(16.0).view(1, 1, 4, 4)
    valid = torch.ones(1, 1, 4, 4)
    valid[..., 0, 0] = 0
    mask = occlusion_mask(error, valid, 0.8)
    # valid errors 1..15: the 0.8 quantile is 12.2, so 1..12 are kept
    torch.testing.assert_close(mask.flatten(), ((error >= 1) & (error <= 12)).float().flatten())
    torch.testing.assert_close(occlusion_mask(error, valid, 1.0), valid)


def test_occlusion_mask_ignores_outliers() -> None:
    """A patch that matches no flow (an occluder) stops dominating the loss once masked."""
    target, neighbour = translated(2, 2)
    corrupted = target.clone()
    corrupted[..., 10:18, 10:18] = 1.0 - corrupted[..., 10:18, 10:18]
    flow = constant_flow(2, 2)
    neighbours = neighbour.unsqueeze(1)
    masked = photometric_loss(corrupted, neighbours, flow, "charbonnier", occlusion_quantile=0.9)
    unmasked = photometric_loss(corrupted, neighbours, flow, "charbonnier", occlusion_quantile=1.0)
    assert float(masked) < 0.1 * float(unmasked)


def test_smoothness_known_answers() -> None:
    flat = torch.full((1, 3, 8, 8), 0.5)
    assert smoothness_loss(constant_flow(3, -1, size=8), flat) == 0
    step = torch.zeros(1, 1, 2, 8, 8)
    step[..., 0, :, 4:] = 2.0  # dx jumps by 2 between columns 3 and 4: 8 of the 2×8×7 x-differences
    expected = 0.5 * 2.0 * 8 / 112
    torch.testing.assert_close(smoothness_loss(step, flat), torch.tensor(expected))
    edge = flat.clone()
    edge[..., 4:] = 1.0  # an image edge at the same place lowers the cost by exp(-alpha * 0.5)
    edge_aware = smoothness_loss(step, edge, alpha=10.0)
    torch.testing.assert_close(edge_aware, torch.tensor(expected * math.exp(-5.0)))


def separate_smoothness(flow: Tensor, image: Tensor, alpha: float) -> Tensor:
    """The smoothness of one level as it was computed before the levels were batched."""
    dx_image = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True).unsqueeze(1)
    dy_image = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True).unsqueeze(1)
    dx_flow = (flow[..., :, 1:] - flow[..., :, :-1]).abs()
    dy_flow = (flow[..., 1:, :] - flow[..., :-1, :]).abs()
    x_term = (dx_flow * torch.exp(-alpha * dx_image)).mean()
    return 0.5 * (x_term + (dy_flow * torch.exp(-alpha * dy_image)).mean())


def test_batched_smoothness_equals_level_by_level() -> None:
    g = torch.Generator().manual_seed(4)
    sizes = [(12, 20), (6, 10), (3, 5)]
    images = [torch.rand(2, 3, h, w, generator=g, dtype=torch.float64) for h, w in sizes]
    flows = [torch.randn(2, 2, 2, h, w, generator=g, dtype=torch.float64).requires_grad_() for h, w in sizes]
    batched = smoothness_losses(flows, images, alpha=3.0)
    separate = torch.stack([separate_smoothness(f, i, 3.0) for f, i in zip(flows, images, strict=True)])
    torch.testing.assert_close(batched, separate, rtol=1e-12, atol=1e-12)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    grads = torch.autograd.grad((weights * batched).sum(), flows)
    expected = torch.autograd.grad((weights * separate).sum(), flows)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_warping_loss_over_levels() -> None:
    """A shift of (8, -16) is exact at levels 1..3: zero photometric error with the matching flows."""
    dx, dy = 8, -16
    big, o, size = texture(size=112), 24, 64
    target = big[..., o : o + size, o : o + size]
    neighbour = big[..., o - dy : o - dy + size, o - dx : o - dx + size]
    window = torch.stack([target, neighbour], dim=1)
    levels = (1, 2, 3)
    exact = {level: constant_flow(dx / 2**level, dy / 2**level, size >> level) for level in levels}
    still = {level: torch.zeros_like(flow) for level, flow in exact.items()}
    loss = WarpingLoss(levels, photometric_weight=2.0, smoothness_weight=1.0)
    terms = loss(window, exact)
    assert set(terms) == {"flow/photometric", "flow/smoothness"}
    assert float(terms["flow/photometric"]) < 1e-5 and float(terms["flow/smoothness"]) == 0
    assert float(loss(window, still)["flow/photometric"]) > 0.1
    only_finest = WarpingLoss(levels, 2.0, smoothness_weight=0.0, level_weights=(1.0, 0.0, 0.0))
    torch.testing.assert_close(
        only_finest(window, still)["flow/photometric"],
        2.0 * photometric_loss(F.avg_pool2d(target, 2), F.avg_pool2d(neighbour, 2).unsqueeze(1), still[1]),
    )
    assert set(only_finest(window, still)) == {"flow/photometric"}


def level_by_level(target: Tensor, neighbours: Tensor, flow: Tensor, penalty: str, quantile: float) -> Tensor:
    """The photometric loss of one level as it was computed before the levels were batched."""
    warped, valid = warp(neighbours.flatten(0, 1), flow.flatten(0, 1))
    reference = target.unsqueeze(1).expand_as(neighbours).flatten(0, 1)
    if penalty == "census":
        valid, error = erode(valid, CENSUS_RADIUS), census_distance(reference, warped, CENSUS_RADIUS)
    else:
        error = charbonnier_error(reference, warped)
    mask = occlusion_mask(error, valid, quantile)
    return (error * mask).sum() / mask.sum().clamp_min(1.0)


@pytest.mark.parametrize("penalty", ["census", "charbonnier"])
@pytest.mark.parametrize("quantile", [0.7, 1.0])
def test_batched_levels_equal_level_by_level(penalty: str, quantile: float) -> None:
    """Random images and flows at three sizes (two neighbours): values and gradients as computed per level."""
    g = torch.Generator().manual_seed(3)
    sizes = [(20, 28), (10, 14), (5, 7)]
    targets = [torch.rand(2, 3, h, w, generator=g, dtype=torch.float64) for h, w in sizes]
    neighbours = [torch.rand(2, 2, 3, h, w, generator=g, dtype=torch.float64) for h, w in sizes]
    flows = [(4 * torch.randn(2, 2, 2, h, w, generator=g, dtype=torch.float64)).requires_grad_() for h, w in sizes]
    batched = photometric_losses(targets, neighbours, flows, penalty, quantile)
    separate = torch.stack(
        [level_by_level(*args, penalty, quantile) for args in zip(targets, neighbours, flows, strict=True)]
    )
    torch.testing.assert_close(batched.double(), separate.double(), rtol=1e-5, atol=1e-6)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    grads = torch.autograd.grad((weights * batched).sum(), flows)
    expected = torch.autograd.grad((weights * separate).sum(), flows)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got.double(), want.double(), rtol=1e-4, atol=1e-6)


def test_warping_loss_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="census"):
        WarpingLoss((1, 2), penalty="ssim")
    with pytest.raises(ValueError, match="expected 2 values"):
        WarpingLoss((1, 2), level_weights=(1.0,))
