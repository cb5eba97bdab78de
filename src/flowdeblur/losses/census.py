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
    b, _, h, w = gray.shape
    size = 2 * radius + 1
    padded = F.pad(gray, [radius] * 4, mode="replicate")
    # every (2r+1)² neighbour in one gather (patch-major, row by row), the centre left out
    patches = F.unfold(padded, size).view(b, size * size, h, w)
    centre = radius * size + radius
    others = torch.cat([torch.arange(centre), torch.arange(centre + 1, size * size)]).to(image.device)
    diffs = patches.index_select(1, others) - gray
    return diffs / torch.sqrt(0.81 + diffs * diffs)


def census_distance(a: Tensor, b: Tensor, radius: int = 3) -> Tensor:
    """(B, 3, H, W) ×2 -> (B, 1, H, W) soft Hamming distance of their census descriptors, in [0, 1)."""
    descriptors = census_transform(torch.cat([a, b]), radius)
    diff = (descriptors[: a.shape[0]] - descriptors[a.shape[0] :]).pow(2)
    return (diff / (0.1 + diff)).mean(1, keepdim=True)
