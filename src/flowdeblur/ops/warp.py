"""The project's one warp op: backward warping of an image by a flow in pixels.

Precision rule: sampling positions and flow up-sampling are computed in float32 whatever the autocast or the
flow's dtype (a bf16 grid is rounded to 0.25 px at x ~ 32-64 and to whole pixels beyond 128), so callers never
need to cast. Outputs are float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def warp(image: Tensor, flow: Tensor, padding_mode: str = "zeros") -> tuple[Tensor, Tensor]:
    """Backward-warp ``image`` with ``flow``: ``out(p) = image(p + flow(p))`` (bilinear), in float32.

    Args:
        image: (B, C, H, W), any float dtype.
        flow: (B, 2, H, W) in pixels, channel order (dx, dy), any float dtype.
        padding_mode: ``grid_sample`` padding for samples that fall outside the frame.

    Returns:
        warped (B, C, H, W) float32 and valid (B, 1, H, W) float32 in {0, 1}: 1 where ``p + flow(p)`` lies inside
        the frame.
    """
    h, w = image.shape[-2:]
    warped, x, y = _sample(image, flow, padding_mode)
    with torch.autocast(image.device.type, enabled=False):
        valid = ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).unsqueeze(1).float()
    return warped, valid


def warp_image(image: Tensor, flow: Tensor, padding_mode: str = "zeros") -> Tensor:
    """:func:`warp` without the valid mask: (B, C, H, W), flow (B, 2, H, W) -> warped (B, C, H, W) float32."""
    return _sample(image, flow, padding_mode)[0]


def _sample(image: Tensor, flow: Tensor, padding_mode: str) -> tuple[Tensor, Tensor, Tensor]:
    """The warped image (B, C, H, W) and the sampling positions x, y (B, H, W) in pixels, all float32."""
    h, w = image.shape[-2:]
    with torch.autocast(image.device.type, enabled=False):
        flow = flow.float()
        ys, xs = torch.meshgrid(
            torch.arange(h, device=image.device, dtype=torch.float32),
            torch.arange(w, device=image.device, dtype=torch.float32),
            indexing="ij",
        )
        x = xs + flow[:, 0]
        y = ys + flow[:, 1]
        grid = torch.stack((2.0 * x / max(w - 1, 1) - 1.0, 2.0 * y / max(h - 1, 1) - 1.0), dim=-1)
        warped = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)
    return warped, x, y


def upsample_flow(flow: Tensor, factor: int) -> Tensor:
    """(B, N, 2, h, w) flow in pixels of its level -> (B, N, 2, h*factor, w*factor) float32 in pixels of the finer
    level (bilinear, computed in float32 whatever the autocast)."""
    b, n, _, h, w = flow.shape
    with torch.autocast(flow.device.type, enabled=False):
        up = F.interpolate(
            flow.float().reshape(b * n, 2, h, w), scale_factor=factor, mode="bilinear", align_corners=False
        )
    return (up * factor).reshape(b, n, 2, h * factor, w * factor)
