"""Per-image fidelity metrics.

Conventions (pinned by reference tests against scikit-image):
- Inputs are RGB (B, 3, H, W) in [0, 1]; ``data_range = 1``; no border crop, no Y-channel conversion.
- PSNR is computed per image (MSE over that image's C·H·W values); an exact match has no finite PSNR and is
  reported as the stated cap :data:`PSNR_CAP_DB` (so it is averaged in, never dropped). Region metrics (static /
  moving pixels) are the exception: they pool the MSE over the whole split (:mod:`flowdeblur.metrics.pooled`),
  against the noise-free sharp frame, over a mask from the scene's motion (:func:`region_errors`).
- SSIM is the Gaussian-window SSIM of Wang et al.: 11×11 window, sigma 1.5, K1 = 0.01, K2 = 0.03, computed per
  channel and averaged over channels and over the valid (unpadded) window positions — equal to
  ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=1, channel_axis=-1)``.
Aggregation over a data set (frame -> clip -> data set) lives in :mod:`flowdeblur.metrics.clip_average`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

# PSNR reported for an exact match (the MSE is 0): a stated cap, never an infinite or dropped value.
PSNR_CAP_DB = 100.0


def psnr(preds: Tensor, target: Tensor) -> Tensor:
    """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) PSNR in dB per image, at most :data:`PSNR_CAP_DB`."""
    value = peak_signal_noise_ratio(
        preds.float().clamp(0, 1), target.float(), data_range=1.0, reduction="none", dim=(1, 2, 3)
    )
    return value.clamp(max=PSNR_CAP_DB)


def ssim(preds: Tensor, target: Tensor) -> Tensor:
    """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) SSIM per image (Gaussian 11×11, sigma 1.5).

    The SSIM map is averaged over the window positions that lie fully inside the image (a 5-pixel border is
    left out), as scikit-image does; torchmetrics' own reduction would also average the reflect-padded border.
    """
    with torch.autocast(preds.device.type, enabled=False):  # float32 even inside a bf16 eval step
        _, ssim_map = structural_similarity_index_measure(
            preds.float().clamp(0, 1),
            target.float(),
            data_range=1.0,
            kernel_size=11,
            sigma=1.5,
            reduction="none",
            return_full_image=True,
        )
    border = 11 // 2
    return ssim_map[..., border:-border, border:-border].mean(dim=(1, 2, 3))


def region_errors(preds: Tensor, target: Tensor, mask: Tensor, reference: Tensor | None = None) -> dict[str, Tensor]:
    """(B, 3, H, W) ×2, mask (B, 1, H, W) in {0, 1} -> per-image sums for pooled region metrics, each (B,):

    ``sse`` the squared error summed over the masked pixels and channels, ``values`` the number of those
    values (pixels × channels), ``changed`` the masked pixels whose largest channel difference exceeds 1/255,
    ``pixels`` the masked pixels; with ``reference`` (B, 3, H, W), the frame the network was given, also
    ``harmed``: the masked pixels whose largest channel difference exceeds the reference's by more than 1/255.
    float32 whatever the autocast.

    ``target`` is the noise-free sharp frame and ``mask`` comes from the scene's motion, not from pixel values
    (synthetic data: :func:`flowdeblur.data.groundtruth.motion_mask`), so both stay defined when the input
    carries sensor noise. ``static_changed`` is then the fraction of static pixels *not within 1/255 of the
    noise-free sharp frame*: near 0 for noise-free input, near 1 for the noisy input itself (about 0.96 on the
    default val set), and lower for an output that removes the noise; ``psnr_static`` measures how far.
    ``harmed`` stays meaningful with noise: a restoration that passes the noisy input through, or denoises it,
    harms no pixel; one that disturbs static pixels (mistakes them for blurry ones) harms them.
    """
    diff = preds.float().clamp(0, 1) - target.float()
    mask = mask.float()
    error = diff.abs().amax(1, keepdim=True)
    sums = {
        "sse": (diff.pow(2) * mask).flatten(1).sum(1),
        "values": mask.flatten(1).sum(1) * preds.shape[1],
        "changed": ((error > 1.0 / 255) * mask).flatten(1).sum(1),
        "pixels": mask.flatten(1).sum(1),
    }
    if reference is not None:
        reference_error = (reference.float() - target.float()).abs().amax(1, keepdim=True)
        sums["harmed"] = ((error > reference_error + 1.0 / 255) * mask).flatten(1).sum(1)
    return sums
