"""Per-pixel filtering: every pixel gets its own k×k filter (filter-adaptive convolution, dynamic filtering).

For x (B, C, H, W) and filters f (B, G*k*k, H, W), with C divisible by G, channel c using filter group
``g(c) = c // (C // G)`` and zero padding, at pixel (r, s)::

    out[b, c, r, s] = sum_{i, j} f[b, g(c) * k*k + i*k + j, r, s] * x[b, c, r + i - k//2, s + j - k//2]

i.e. the k*k taps of a group are stored row-major (tap ``i*k + j`` reads the pixel ``(i - k//2, j - k//2)``
away), one group after the other. ``G = C``: a filter per channel; ``G = 1``: one filter shared by all
channels.

Implementations with the same values and gradients:
- ``reference``: ``F.unfold`` (k*k copies of x; simple, memory-hungry).
- ``fast``: shift-and-accumulate over the k*k taps with a hand-written backward. Each tap multiplies the
  overlapping window of x and the output in place (no padded copy, no unfolded tensor), so the forward
  allocates only the output and the backward only the two gradients plus one product buffer when G < C.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

IMPLS = ("reference", "fast")


def per_pixel_filter(x: Tensor, filters: Tensor, kernel_size: int, impl: str = "fast") -> Tensor:
    """(B, C, H, W), filters (B, G*k*k, H, W) -> (B, C, H, W); ``impl`` is ``"reference"`` or ``"fast"``.

    x and the filters are brought to their common dtype (so the k*k products accumulate in the wider one).
    """
    if impl not in IMPLS:
        raise ValueError(f"per_pixel_filter: impl must be one of {IMPLS}, got '{impl}'")
    dtype = torch.result_type(x, filters)
    x, filters = x.to(dtype), filters.to(dtype)
    if impl == "reference":
        return per_pixel_filter_reference(x, filters, kernel_size)
    groups = filter_groups(x, filters, kernel_size)
    return _PerPixelFilter.apply(x, filters, kernel_size, groups)


def per_pixel_filter_reference(x: Tensor, filters: Tensor, kernel_size: int) -> Tensor:
    """(B, C, H, W), filters (B, G*k*k, H, W) -> (B, C, H, W) through ``F.unfold``."""
    groups = filter_groups(x, filters, kernel_size)
    b, c, h, w = x.shape
    taps = kernel_size * kernel_size
    patches = F.unfold(x, kernel_size, padding=kernel_size // 2).view(b, groups, c // groups, taps, h, w)
    return (patches * filters.reshape(b, groups, 1, taps, h, w)).sum(dim=3).view(b, c, h, w)


def filter_groups(x: Tensor, filters: Tensor, kernel_size: int) -> int:
    """Number of filter groups G of ``filters`` for ``x``; raises on any shape mismatch."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"per_pixel_filter: kernel_size must be odd and positive, got {kernel_size}")
    taps = kernel_size * kernel_size
    same_size = filters.shape[0] == x.shape[0] and filters.shape[2:] == x.shape[2:]
    if x.dim() != 4 or filters.dim() != 4 or not same_size:
        raise ValueError(
            f"per_pixel_filter: expected x (B, C, H, W) and filters (B, G*k*k, H, W) of the "
            f"same B, H, W, got {tuple(x.shape)} and {tuple(filters.shape)}"
        )
    groups, rest = divmod(filters.shape[1], taps)
    if rest or groups == 0 or x.shape[1] % groups:
        raise ValueError(
            f"per_pixel_filter: filters with {filters.shape[1]} channels are not G*{taps} taps "
            f"with G dividing the {x.shape[1]} channels of x"
        )
    return groups


def _overlap(size: int, offset: int) -> tuple[slice, slice] | None:
    """Output and input ranges along one axis for a tap reading ``offset`` pixels away (None if empty)."""
    lo, hi = max(0, -offset), min(size, size - offset)
    if lo >= hi:
        return None
    return slice(lo, hi), slice(lo + offset, hi + offset)


Window = tuple[int, tuple[Any, slice, slice], tuple[Any, slice, slice]]


def _windows(kernel_size: int, height: int, width: int) -> list[Window]:
    """(tap index, output window, input window) for every tap whose window is not empty.

    The centre tap, whose windows are the whole image, comes first.
    """
    radius = kernel_size // 2
    windows: list[Window] = []
    for i in range(kernel_size):
        for j in range(kernel_size):
            rows, cols = _overlap(height, i - radius), _overlap(width, j - radius)
            if rows is None or cols is None:
                continue
            windows.append((i * kernel_size + j, (Ellipsis, rows[0], cols[0]), (Ellipsis, rows[1], cols[1])))
    centre = kernel_size * kernel_size // 2
    return sorted(windows, key=lambda window: window[0] != centre)


def _zero_outside_(t: Tensor, window: tuple[slice, ...]) -> None:
    """Zero t (..., H, W) outside the rectangle ``window`` = (Ellipsis, rows, cols)."""
    rows, cols = window[-2], window[-1]
    t[..., : rows.start, :].zero_()
    t[..., rows.stop :, :].zero_()
    t[..., rows, : cols.start].zero_()
    t[..., rows, cols.stop :].zero_()


class _PerPixelFilter(torch.autograd.Function):
    """x (B, C, H, W), filters (B, G*k*k, H, W) -> (B, C, H, W) by shift-and-accumulate."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, filters: Tensor, kernel_size: int, groups: int) -> Tensor:
        b, c, h, w = x.shape
        xg = x.reshape(b, groups, c // groups, h, w)
        taps = filters.reshape(b, groups, kernel_size * kernel_size, h, w).unsqueeze(3).unbind(2)
        (centre, _, _), *others = _windows(kernel_size, h, w)
        out = torch.mul(taps[centre], xg, out=x.new_empty(xg.shape))
        for tap, dst, src in others:
            out[dst].addcmul_(taps[tap][dst], xg[src])
        ctx.save_for_backward(x, filters)
        ctx.kernel_size, ctx.groups = kernel_size, groups
        return out.view(b, c, h, w)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        x, filters = ctx.saved_tensors
        k, groups = ctx.kernel_size, ctx.groups
        b, c, h, w = x.shape
        shape = (b, groups, c // groups, h, w)
        need_x, need_filters = ctx.needs_input_grad[:2]
        xg, gg = x.reshape(shape), grad_out.reshape(shape)
        taps = filters.reshape(b, groups, k * k, h, w).unsqueeze(3).unbind(2)
        windows = _windows(k, h, w)
        grad_x = None
        if need_x:
            # the transposed filtering: each tap scatters grad_out * filter back to the pixel it read
            grad_x = torch.mul(taps[windows[0][0]], gg, out=x.new_empty(shape))
            for tap, dst, src in windows[1:]:
                grad_x[src].addcmul_(taps[tap][dst], gg[dst])
        grad_filters = None
        if need_filters:
            grad_filters = filters.new_empty((b, groups, k * k, 1, h, w))
            _filter_gradients_(grad_filters.unbind(2), gg, xg, windows)
        return (
            None if grad_x is None else grad_x.view(b, c, h, w),
            None if grad_filters is None else grad_filters.view(filters.shape),
            None,
            None,
        )


def _filter_gradients_(grad_taps: tuple[Tensor, ...], gg: Tensor, xg: Tensor, windows: list[Window]) -> None:
    """grad_taps[tap] (B, G, 1, H, W) = sum over a group's channels of grad_out * the pixel the tap read."""
    product = torch.empty_like(gg) if gg.shape[2] > 1 else None
    for tap, dst, src in windows:
        if product is None:
            torch.mul(gg[dst], xg[src], out=grad_taps[tap][dst])
        else:
            window = product[dst]
            torch.mul(gg[dst], xg[src], out=window)
            torch.sum(window, dim=2, keepdim=True, out=grad_taps[tap][dst])
        _zero_outside_(grad_taps[tap], dst)
    for tap in set(range(len(grad_taps))) - {window[0] for window in windows}:
        grad_taps[tap].zero_()
