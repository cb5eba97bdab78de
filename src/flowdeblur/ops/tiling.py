"""Horizontal strips of a frame and the exact hand-over of scan states between them.

A frame too large to restore at once is cut into strips spanning whole rows (so row-wise operations see complete
rows). Strip ``k`` *owns* rows ``[start, stop)`` (the owned rows partition the frame) and is computed on rows
``[top, bottom)``: its owned rows plus ``context`` rows above and below (fewer at the frame's borders), the
local receptive field its owned rows need. All bounds but the frame's height are multiples of the network's
stride, so every strip sees the same pixel grid at every pyramid level as the whole frame.

Column-wise linear recurrences (the vertical scans of a spatial RNN, ``h_t = g_t h_{t-1} + (1 - g_t) x_t``) reach
across strips; they are made exact by :func:`carry`: each strip reports the state at its far owned edge computed
from a zero state at its near owned edge (``ends``) and the product of the gates over its owned rows
(``gains``); the true state entering strip ``k`` is then ``s_k = ends_{k-1} + gains_{k-1} * s_{k-1}``, the same
recurrence over strips.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class Strip:
    """Rows ``[top, bottom)`` computed, rows ``[start, stop)`` owned (``top <= start < stop <= bottom``)."""

    top: int
    start: int
    stop: int
    bottom: int


def plan_strips(height: int, rows: int, context: int, stride: int = 1) -> list[Strip]:
    """Strips owning ``rows`` rows each (the last one the remainder) with ``context`` rows of context.

    ``rows`` and ``context`` are rounded up to multiples of ``stride``. One strip when ``rows >= height``.
    """
    if rows < 1 or context < 0 or stride < 1:
        raise ValueError(f"strips: expected rows >= 1, context >= 0, stride >= 1; got {rows}, {context}, {stride}")
    rows, context = -(-rows // stride) * stride, -(-context // stride) * stride
    starts = list(range(0, height, rows))
    return [Strip(max(0, a - context), a, min(a + rows, height), min(a + rows + context, height)) for a in starts]


def carry(ends: list[Tensor], gains: list[Tensor]) -> list[Tensor | None]:
    """States entering each strip of a scan running from strip 0 to the last (reverse the lists for the other
    way): ``None`` (zero) for strip 0, then ``s_k = ends[k-1] + gains[k-1] * s_{k-1}``; tensors (..., W)."""
    states: list[Tensor | None] = [None]
    for end, gain in zip(ends[:-1], gains[:-1], strict=True):
        prev = states[-1]
        states.append(end if prev is None else end + gain * prev)
    return states
