"""Soft ternary census transform: a photometric comparison robust to brightness and contrast changes.

Each pixel is described by the soft signs of (neighbour - centre) over a (2r+1)² patch; two images are
compared by a soft Hamming distance between their descriptors (as in UnFlow / UFlow).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

LUMA = (0.299, 0.587, 0.114)


def _gray(image: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) luma in [0, 255]."""
    luma = torch.tensor(LUMA, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return 255.0 * (image * luma).sum(1, keepdim=True)


def _patches(gray: Tensor, radius: int) -> Tensor:
    """(B, 1, H, W) -> (B, (2r+1)², H·W): every pixel's (2r+1)² neighbours, row by row, borders replicated."""
    padded = F.pad(gray, [radius] * 4, mode="replicate")
    return F.unfold(padded, 2 * radius + 1)


def _soft_signs(patches: Tensor, gray: Tensor, radius: int) -> Tensor:
    """patches (B, (2r+1)², N), gray (B, 1, N) -> (B, (2r+1)² - 1, N) soft signs of neighbour - centre."""
    size = 2 * radius + 1
    centre = radius * size + radius
    others = torch.cat([torch.arange(centre), torch.arange(centre + 1, size * size)]).to(patches.device)
    diffs = patches.index_select(1, others) - gray
    return diffs / torch.sqrt(0.81 + diffs * diffs)


def census_transform(image: Tensor, radius: int = 3) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, (2r+1)² - 1, H, W) soft signs in (-1, 1); borders replicated."""
    gray = _gray(image)
    return _soft_signs(_patches(gray, radius), gray.flatten(2), radius).unflatten(2, gray.shape[-2:])


def census_distances(pairs: Sequence[tuple[Tensor, Tensor]], radius: int = 3) -> list[Tensor]:
    """[(a, b) (B, 3, H_i, W_i) ×2] -> [(B, 1, H_i, W_i)]: :func:`census_distance` of every pair (one batch size
    B, any sizes); the per-pixel arithmetic of all pairs runs once over their concatenated pixels."""
    grays = [_gray(torch.cat([a, b])) for a, b in pairs]
    patches = torch.cat([_patches(gray, radius) for gray in grays], dim=2)
    signs = _soft_signs(patches, torch.cat([gray.flatten(2) for gray in grays], dim=2), radius)
    batch = pairs[0][0].shape[0]
    diff = (signs[:batch] - signs[batch:]).pow(2)
    distance = (diff / (0.1 + diff)).mean(1, keepdim=True)
    sizes = [gray.shape[-2:] for gray in grays]
    chunks = distance.split([h * w for h, w in sizes], dim=2)
    return [chunk.unflatten(2, size) for chunk, size in zip(chunks, sizes, strict=True)]


def census_distance(a: Tensor, b: Tensor, radius: int = 3) -> Tensor:
    """(B, 3, H, W) ×2 -> (B, 1, H, W) soft Hamming distance of their census descriptors, in [0, 1)."""
    return census_distances([(a, b)], radius)[0]
