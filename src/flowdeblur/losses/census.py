"""Soft ternary census transform: a photometric comparison robust to brightness and contrast changes.

Each pixel is described by the soft signs of (neighbour - centre) over a (2r+1)² patch; two images are
compared by a soft Hamming distance between their descriptors (as in UnFlow / UFlow).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

LUMA = (0.299, 0.587, 0.114)


def census_transform(image: Tensor, radius: int = 3) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, (2r+1)² - 1, H, W) soft signs in (-1, 1); borders replicated."""
    luma = torch.tensor(LUMA, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    gray = 255.0 * (image * luma).sum(1, keepdim=True)
    h, w = gray.shape[-2:]
    size = 2 * radius + 1
    padded = F.pad(gray, [radius] * 4, mode="replicate")
    shifts = [(dy, dx) for dy in range(size) for dx in range(size) if (dy, dx) != (radius, radius)]
    diffs = torch.cat([padded[..., dy : dy + h, dx : dx + w] for dy, dx in shifts], dim=1) - gray
    return diffs / torch.sqrt(0.81 + diffs * diffs)


def census_distance(a: Tensor, b: Tensor, radius: int = 3) -> Tensor:
    """(B, 3, H, W) ×2 -> (B, 1, H, W) soft Hamming distance of their census descriptors, in [0, 1)."""
    diff = (census_transform(a, radius) - census_transform(b, radius)).pow(2)
    return (diff / (0.1 + diff)).mean(1, keepdim=True)
