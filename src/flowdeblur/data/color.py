"""sRGB transfer functions and colour jitter for synthetic clips.

Synthetic scenes live in linear light: photos are decoded from sRGB, then resampled, jittered, rendered and
averaged over the exposure (the GoPro recipe) in linear light, and encoded to sRGB at the end.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

_LUMA = (0.2126, 0.7152, 0.0722)


def srgb_to_linear(x: Tensor) -> Tensor:
    """(..., 3, H, W) sRGB in [0, 1] -> same shape, linear light in [0, 1]."""
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


_SRGB8_TO_LINEAR = srgb_to_linear(torch.arange(256, dtype=torch.float64) / 255.0).to(torch.float32)


def decode_srgb8(image: Tensor) -> Tensor:
    """(..., 3, H, W) uint8 sRGB -> same shape float32 linear light in [0, 1] (table lookup)."""
    return _SRGB8_TO_LINEAR[image.long()]


def linear_to_srgb(x: Tensor) -> Tensor:
    """(..., 3, H, W) linear light -> same shape, sRGB in [0, 1] (input clamped to [0, 1] first)."""
    x = x.clamp(0.0, 1.0)
    power = x.clamp_min(0.0031308).pow_(1.0 / 2.4).mul_(1.055).sub_(0.055)
    return torch.where(x <= 0.0031308, x * 12.92, power)


def color_jitter(image: Tensor, rng: np.random.Generator) -> Tensor:
    """(3, H, W) linear light -> (3, H, W) linear light, clamped to [0, 1], with random exposure (gain in
    exp([-0.4, 0.4])), white balance (per-channel gain in exp([-0.1, 0.1])) and saturation (x [0.7, 1.3])."""
    gain = np.exp(rng.uniform(-0.4, 0.4) + rng.uniform(-0.1, 0.1, size=3))
    saturation = rng.uniform(0.7, 1.3)
    image = image * torch.tensor(gain, dtype=image.dtype).view(3, 1, 1)
    luma = (image * torch.tensor(_LUMA, dtype=image.dtype).view(3, 1, 1)).sum(0, keepdim=True)
    return (luma + saturation * (image - luma)).clamp(0.0, 1.0)
