"""Evaluation protocols of real video-deblurring benchmarks.

Primary numbers (``psnr``, ``ssim``; BasicSR's convention, :mod:`flowdeblur.metrics.image`): RGB, every frame
of every sequence, no border crop, float output.

Beside them, the CDVD-TSP convention (Pan et al. 2020, its public ``inference.py``), logged as ``psnr_cdvd``
and ``ssim_cdvd``: the first and last :data:`CDVD_EDGE_FRAMES` frames of each sequence are left out (its
5-frame windows never centre on them), a :data:`CDVD_BORDER`-pixel border is cropped, and the output is
rounded to 8 bits (it scores saved uint8 images). Its SSIM equals ours on the cropped image (Gaussian 11x11,
sigma 1.5, valid window positions, mean over RGB channels). Left-out frames get NaN, which the frame ->
sequence -> data-set averaging (:class:`~flowdeblur.metrics.clip_average.ClipAverage`) skips. CDVD-TSP's own
script pools all frames (frame-weighted); here, as for the primary numbers, each sequence counts once. See
docs/evaluation.md.
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowdeblur.metrics.image import psnr, ssim

CDVD_EDGE_FRAMES = 2
CDVD_BORDER = 4


def quantize_8bit(images: Tensor) -> Tensor:
    """(..., H, W) float -> the same rounded to the 8-bit grid of [0, 1]."""
    return images.float().clamp(0, 1).mul(255).round().div(255)


def cdvd_metrics(restored: Tensor, sharp: Tensor, frame: Tensor, sequence_length: Tensor) -> dict[str, Tensor]:
    """(B, 3, H, W) ×2, frame numbers and sequence lengths (B,) -> ``psnr_cdvd``, ``ssim_cdvd`` (B,).

    NaN for frames within :data:`CDVD_EDGE_FRAMES` of either end of their sequence.
    """
    b = CDVD_BORDER
    out, ref = quantize_8bit(restored)[..., b:-b, b:-b], sharp.float()[..., b:-b, b:-b]
    frame, length = frame.to(out.device), sequence_length.to(out.device)
    kept = (frame >= CDVD_EDGE_FRAMES) & (frame < length - CDVD_EDGE_FRAMES)
    nan = torch.tensor(float("nan"), device=out.device)
    return {
        "psnr_cdvd": torch.where(kept, psnr(out, ref), nan),
        "ssim_cdvd": torch.where(kept, ssim(out, ref), nan),
    }
