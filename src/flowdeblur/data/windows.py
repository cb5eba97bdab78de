"""Windows of T frames around every frame of a sequence, with edge handling at the sequence ends.

Window slot ``j`` of the window of frame ``c`` holds frame ``c + j - target``; indices outside ``[0, n)`` are
mapped back inside by the edge mode, so every frame of a sequence, first and last included, can be restored:

- ``reflect`` (default): mirror about the end frame without repeating it, ``-1 -> 1``, ``n -> n - 2`` (numpy's
  ``reflect``, BasicSR's ``reflection``). The neighbours stay distinct real frames, with the motion direction
  mirrored.
- ``replicate``: repeat the end frame, ``-1 -> 0``, ``n -> n - 1`` (neighbours identical to the target: no
  motion).

``reverse`` plays the sequence backwards (slot ``j`` holds ``c - (j - target)``): temporal-reversal
augmentation that keeps the target in its slot.
"""

from __future__ import annotations

EDGE_MODES = ("reflect", "replicate")


def window_indices(
    center: int, length: int, num_frames: int, target: int, edge: str = "reflect", reverse: bool = False
) -> list[int]:
    """Frame indices (length ``num_frames``) of the window whose slot ``target`` holds frame ``center``."""
    if edge not in EDGE_MODES:
        raise ValueError(f"edge: expected one of {EDGE_MODES}, got '{edge}'")
    if not 0 <= center < length:
        raise IndexError(f"frame {center} is outside a sequence of {length} frames")
    sign = -1 if reverse else 1
    return [fold(center + sign * (j - target), length, edge) for j in range(num_frames)]


def fold(index: int, length: int, edge: str) -> int:
    """Map any integer ``index`` into ``[0, length)`` by the edge mode."""
    if edge == "replicate" or length == 1:
        return min(max(index, 0), length - 1)
    period = 2 * (length - 1)
    index %= period
    return period - index if index >= length else index
