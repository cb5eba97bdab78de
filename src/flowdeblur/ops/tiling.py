"""Tiled forward of a frame-window network: peak memory set by the tile size, not by the frame size.

The frame is covered by tiles of ``tile`` pixels whose neighbours overlap by at least ``overlap`` pixels (the
last tile of a row/column is moved back to end at the border, so all tiles share one size). Each tile's output
is weighted by a separable ramp on every side shared with another tile (1 elsewhere, border sides included): 0
over the outer quarter of the overlap, a cosine rise over its middle half, 1 beyond; the weighted outputs are
normalised by the summed weights. Seams blend smoothly, the pixels nearest a tile's cut edge (where its
receptive field is cut off) are never used, and a network whose receptive field reaches at most ``overlap /
4`` pixels gives exactly its untiled output. Choose tiles that are multiples of the network's stride to avoid
padding each tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of ``tile``-long tiles covering ``[0, size)``, overlapping by at least ``overlap``."""
    if size <= tile:
        return [0]
    return [*range(0, size - tile, tile - overlap), size - tile]


def blend_weights(starts: list[int], tile: int, overlap: int, size: int) -> list[Tensor]:
    """Per tile, (min(tile, size),) weights: a ramp (module docstring) on sides shared with a neighbour."""
    length = min(tile, size)
    i = torch.arange(overlap, dtype=torch.float64)
    rise = ((i + 0.5 - overlap / 4) / (overlap / 2)).clamp(0, 1) if overlap > 0 else i
    ramp = 0.5 - 0.5 * torch.cos(math.pi * rise)
    weights = []
    for k in range(len(starts)):
        w = torch.ones(length, dtype=torch.float64)
        if k > 0:
            w[:overlap] = ramp
        if k < len(starts) - 1:
            w[length - overlap:] = ramp.flip(0)
        weights.append(w)
    return weights


def tiled_forward(
    fn: Callable[[Tensor], Tensor], frames: Tensor, tile: int | tuple[int, int] | None, overlap: int = 32
) -> Tensor:
    """``fn``: (B, T, 3, h, w) -> (B, C, h, w); frames (B, T, 3, H, W) -> (B, C, H, W) computed tile by tile.

    Args:
        fn: the network call on one tile.
        frames: the full window.
        tile: tile size, an int (square) or (height, width); None or 0 runs ``fn`` on the whole frame.
        overlap: minimum overlap of neighbouring tiles, in pixels, at most half the tile.
    """
    h, w = frames.shape[-2:]
    if not tile:
        return fn(frames)
    th, tw = (tile, tile) if isinstance(tile, int) else (int(tile[0]), int(tile[1]))
    if not 0 <= 2 * overlap <= min(th, tw):
        raise ValueError(f"tile overlap: expected 0 <= overlap <= half the tile size {min(th, tw)}, "
                         f"got {overlap}")
    if h <= th and w <= tw:
        return fn(frames)
    ys, xs = tile_starts(h, th, overlap), tile_starts(w, tw, overlap)
    wys, wxs = blend_weights(ys, th, overlap, h), blend_weights(xs, tw, overlap, w)
    out: Tensor | None = None
    total = torch.zeros(h, w, dtype=torch.float64)
    for y, wy in zip(ys, wys, strict=True):
        for x, wx in zip(xs, wxs, strict=True):
            piece = fn(frames[..., y:y + th, x:x + tw])
            if out is None:
                out = torch.zeros(*piece.shape[:2], h, w, dtype=torch.float64, device=piece.device)
            weight = wy[:, None] * wx[None, :]
            out[..., y:y + th, x:x + tw] += piece.double() * weight.to(piece.device)
            total[y:y + th, x:x + tw] += weight
    assert out is not None
    return (out / total.to(out.device)).to(frames.dtype)
