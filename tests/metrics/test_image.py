"""Metric conventions pinned against scikit-image reference values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from flowdeblur.metrics.image import PSNR_CAP_DB, psnr, region_errors, ssim


def _degraded(photo: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    noisy = photo + 0.05 * torch.randn(photo.shape, generator=g)
    return torch.nn.functional.avg_pool2d(noisy, 3, stride=1, padding=1).clamp(0, 1)


def _np(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).double().numpy()


def test_psnr_matches_skimage(photo: torch.Tensor) -> None:
    other = _degraded(photo)
    expected = peak_signal_noise_ratio(_np(photo), _np(other), data_range=1.0)
    assert psnr(other, photo).item() == pytest.approx(expected, abs=1e-3)


def test_ssim_matches_skimage_gaussian(photo: torch.Tensor) -> None:
    other = _degraded(photo)
    expected = structural_similarity(
        _np(photo),
        _np(other),
        data_range=1.0,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert ssim(other, photo).item() == pytest.approx(expected, abs=1e-4)


def test_psnr_is_per_image_not_of_pooled_mse(photo: torch.Tensor) -> None:
    a = photo.repeat(2, 1, 1, 1)
    b = a.clone()
    b[0] += 0.01
    b[1] += 0.1
    values = psnr(b.clamp(0, 1), a)
    assert values.shape == (2,)
    assert values[0] > values[1] + 15


def test_identical_images() -> None:
    x = torch.rand(2, 3, 32, 32)
    assert psnr(x, x).tolist() == [PSNR_CAP_DB, PSNR_CAP_DB]
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-5)


def test_region_errors_sums(photo: torch.Tensor) -> None:
    other = photo.clone()
    other[..., :, 64:] = (other[..., :, 64:] + 0.1).clamp(0, 1)
    left = torch.zeros(1, 1, *photo.shape[-2:])
    left[..., :64] = 1
    exact = region_errors(other, photo, left)
    assert exact["sse"].item() == 0 and exact["changed"].item() == 0
    assert exact["pixels"].item() == 64 * photo.shape[-2] and exact["values"].item() == 3 * exact["pixels"].item()
    right = region_errors(other, photo, 1 - left)
    mse = (other[..., 64:] - photo[..., 64:]).pow(2).mean().item()
    assert (right["sse"] / right["values"]).item() == pytest.approx(mse, rel=1e-5)
    moved = ((other - photo).abs().amax(1) > 1 / 255)[..., 64:].sum().item()
    assert right["changed"].item() == moved and moved > 0
