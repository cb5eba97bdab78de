"""Flow to colour: hue = direction, saturation = magnitude (HSV wheel, value 1)."""

from __future__ import annotations

import math

import torch
from kornia.color import hsv_to_rgb
from torch import Tensor


def flow_to_color(flow: Tensor, max_magnitude: float | None = None) -> Tensor:
    """(..., 2, H, W) flow (dx, dy) px -> (..., 3, H, W) RGB in [0, 1].

    Hue is the direction (0 rad = +x, red); saturation is magnitude / ``max_magnitude`` clipped to 1, so zero
    flow is white. ``max_magnitude`` defaults to the largest magnitude in ``flow`` (1 if it is all zero).
    """
    dx, dy = flow.unbind(-3)
    magnitude = torch.sqrt(dx * dx + dy * dy)
    if max_magnitude is None:
        max_magnitude = float(magnitude.max()) if magnitude.numel() else 1.0
    hue = torch.atan2(dy, dx) % (2.0 * math.pi)
    saturation = (magnitude / max(max_magnitude, 1e-12)).clamp(0.0, 1.0)
    return hsv_to_rgb(torch.stack((hue, saturation, torch.ones_like(hue)), dim=-3)).clamp(0.0, 1.0)
