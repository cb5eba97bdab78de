"""Soft ternary census transform: a photometric comparison robust to brightness and contrast changes.

Each pixel is described by the soft signs of (neighbour - centre) over a (2r+1)² patch; two images are
compared by a soft Hamming distance between their descriptors (as in UnFlow / UFlow).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.ops import census

LUMA = (0.299, 0.587, 0.114)


def _gray(image: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) luma in [0, 255]."""
    luma = torch.tensor(LUMA, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return 255.0 * (image * luma).sum(1, keepdim=True)


def _patches(gray: Tensor, radius: int) -> Tensor:
    """(B, 1, H, W) -> (B, (2r+1)², H·W): every pixel's (2r+1)² neighbours, row by row, borders replicated."""
    padded = F.pad(gray, [radius] * 4, mode="replicate")
    return F.unfold(padded, 2 * radius + 1)


def _soft_signs(patches: Tensor, gray: Tensor) -> Tensor:
    """patches (B, K, N), gray (B, 1, N) -> (B, K, N) soft signs of neighbour - centre (0 at the centre itself)."""
    diffs = patches - gray
    return diffs / torch.sqrt(0.81 + diffs * diffs)


def census_transform(image: Tensor, radius: int = 3) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, (2r+1)² - 1, H, W) soft signs in (-1, 1); borders replicated."""
    gray = _gray(image)
    size = 2 * radius + 1
    centre = radius * size + radius
    others = torch.cat([torch.arange(centre), torch.arange(centre + 1, size * size)]).to(image.device)
    signs = _soft_signs(_patches(gray, radius).index_select(1, others), gray.flatten(2))
    return signs.unflatten(2, gray.shape[-2:])


def _all_soft_signs(images: Sequence[Tensor], radius: int) -> Tensor:
    """[(B, 3, H_i, W_i)] -> (B, (2r+1)², Σ H_i·W_i) soft signs of every image's pixels, centre included."""
    grays = [_gray(image) for image in images]
    patches = torch.cat([_patches(gray, radius) for gray in grays], dim=2)
    return _soft_signs(patches, torch.cat([gray.flatten(2) for gray in grays], dim=2))


def census_distances(pairs: Sequence[tuple[Tensor, Tensor]], radius: int = 3, impl: str = "fast") -> list[Tensor]:
    """[(a (B / R, 3, H_i, W_i), b (B, 3, H_i, W_i))] -> [(B, 1, H_i, W_i)]: :func:`census_distance` of b[j] and
    a[j // R] for every pair (one B and R, any sizes; R > 1: a window's targets against their neighbours, no
    repeated copy of the targets on CUDA). On CUDA (``impl``, :func:`flowdeblur.ops.census.backend`) one fused
    custom op per pair;
    elsewhere the per-pixel arithmetic of all pairs runs once over their concatenated pixels (the a's and
    the b's apart, so that a side without gradient has no backward). The centre's own soft sign (0 in both
    images) is kept in the sum, where it adds exactly 0, and left out of the mean."""
    if census.backend(pairs[0][0], impl) == "triton":
        return [census.census_distance_op(a, b, radius) for a, b in pairs]
    pairs = [(repeated(a, b.shape[0]), b) for a, b in pairs]
    signs = [_all_soft_signs(side, radius) for side in zip(*pairs, strict=True)]
    diff = (signs[0] - signs[1]).pow(2)
    distance = (diff / (0.1 + diff)).sum(1, keepdim=True) / (diff.shape[1] - 1)
    sizes = [a.shape[-2:] for a, _ in pairs]
    chunks = distance.split([h * w for h, w in sizes], dim=2)
    return [chunk.unflatten(2, size) for chunk, size in zip(chunks, sizes, strict=True)]


def repeated(images: Tensor, rows: int) -> Tensor:
    """(B / R, ...) -> (B, ...) with ``rows`` = B: each image R times in a row (a view where R is 1)."""
    repeat = rows // images.shape[0]
    return images if repeat == 1 else images.unsqueeze(1).expand(-1, repeat, *images.shape[1:]).flatten(0, 1)


def census_distance(a: Tensor, b: Tensor, radius: int = 3, impl: str = "fast") -> Tensor:
    """(B, 3, H, W) ×2 -> (B, 1, H, W) soft Hamming distance of their census descriptors, in [0, 1)."""
    return census_distances([(a, b)], radius, impl)[0]
