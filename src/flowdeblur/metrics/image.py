"""Per-image fidelity metrics.

Conventions (pinned by reference tests against scikit-image):
- Inputs are RGB (B, 3, H, W) in [0, 1]; ``data_range = 1``; no border crop, no Y-channel conversion.
- PSNR is computed per image (MSE over that image's C·H·W values), never from a dataset-wide MSE.
- SSIM is the Gaussian-window SSIM of Wang et al.: 11×11 window, sigma 1.5, K1 = 0.01, K2 = 0.03, computed per
  channel and averaged over channels and over the valid (unpadded) window positions — equal to
  ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=1, channel_axis=-1)``.
Aggregation over a data set (frame -> clip -> data set) lives in :mod:`flowdeblur.metrics.aggregate`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure


def psnr(preds: Tensor, target: Tensor) -> Tensor:
    """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) PSNR in dB per image."""
    return peak_signal_noise_ratio(
        preds.float().clamp(0, 1), target.float(), data_range=1.0, reduction="none", dim=(1, 2, 3)
    )


def ssim(preds: Tensor, target: Tensor) -> Tensor:
    """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) SSIM per image (Gaussian 11×11, sigma 1.5).

    The SSIM map is averaged over the window positions that lie fully inside the image (a 5-pixel border is
    left out), as scikit-image does; torchmetrics' own reduction would also average the reflect-padded border.
    """
    with torch.autocast(preds.device.type, enabled=False):  # float32 even inside a bf16 eval step
        _, ssim_map = structural_similarity_index_measure(
            preds.float().clamp(0, 1), target.float(), data_range=1.0, kernel_size=11, sigma=1.5,
            reduction="none", return_full_image=True,
        )
    border = 11 // 2
    return ssim_map[..., border:-border, border:-border].mean(dim=(1, 2, 3))


def masked_psnr(preds: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """(B, 3, H, W) ×2, mask (B, 1, H, W) in {0, 1} -> (B,) PSNR over the masked pixels; NaN where the mask is empty.

    Used for region-aware numbers (static vs moving regions); NaN entries are skipped by the aggregators.
    """
    err = (preds.float().clamp(0, 1) - target.float()).pow(2) * mask
    count = mask.flatten(1).sum(1) * preds.shape[1]
    mse = err.flatten(1).sum(1) / count.clamp_min(1)
    value = 10.0 * torch.log10(1.0 / mse.clamp_min(1e-12))
    return torch.where(count > 0, value, torch.full_like(value, float("nan")))
