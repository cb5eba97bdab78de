"""Triton kernels of the photometric loss's masked means: erosion of the valid masks, the per-sample occlusion
threshold and the masked sums of every level, and their gradient, for CUDA tensors.

Per level, for errors and valid masks (R, 1, H, W) (one row per sample and neighbour):

- ``_select_kernel``: one program per row. Its first pass writes the valid mask eroded by ``RADIUS`` (the
  minimum over the (2r+1)² window inside the frame, as ``1 - max_pool(1 - v)``) into a dense row-major buffer
  and counts the row's usable pixels ``k`` (eroded mask non-zero, error not NaN). It then finds the
  ``⌊q·(k-1)⌋``-th smallest of their errors by a binary search over the errors' bit patterns (order-preserving
  int32 keys; 32 passes over the row), which is the lower order statistic that ``torch.nanquantile``
  interpolates from: a pixel lies at or below the interpolated quantile exactly when it lies at or below that
  order statistic (up to a rounding onto the next value). Last, it writes each pixel's weight (the eroded mask
  where the error is at most the threshold, else 0) over the buffer and the row's sums of ``error·weight`` and
  ``weight`` (NaN errors propagate into the sum, as in the PyTorch version).
- ``_finish_kernel``: the rows' sums added per level, and the means (one launch for all levels).
- ``_backward_kernel``: ``dL/derror = weight · dL/dmean / max(count, 1)`` for one level.

This module imports ``triton``; under ``TRITON_INTERPRET=1`` it also runs on CPU tensors (the tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 1024  # pixels per block of a row
BLOCK_E = 256  # pixels per program of the backward
BLOCK_R = 64  # rows per block of the means
SEARCH_STEPS = 32  # halvings of the int32 key range


@triton.jit
def _eroded(v_ptr, r, p, inside, H, W, svb, svh, svw, RADIUS: tl.constexpr):
    """The valid mask at pixels p of row r eroded by RADIUS: its minimum over the window inside the frame."""
    y = p // W
    x = p % W
    low = tl.where(inside, float("inf"), 0.0)
    for dy in tl.static_range(-RADIUS, RADIUS + 1):
        for dx in tl.static_range(-RADIUS, RADIUS + 1):
            yy = y + dy
            xx = x + dx
            seen = inside & (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
            v = tl.load(v_ptr + r * svb + yy * svh + xx * svw, mask=seen, other=float("inf"))
            low = tl.minimum(low, v.to(tl.float32))
    return low


@triton.jit
def _row_block(e_ptr, w_ptr, r, start, HW, W, seb, seh, sew, BLOCK: tl.constexpr):
    """One block of a row: the errors, the weights buffer, the usable pixels and their int32 order keys."""
    p = start + tl.arange(0, BLOCK)
    inside = p < HW
    e = tl.load(e_ptr + r * seb + (p // W) * seh + (p % W) * sew, mask=inside, other=0.0).to(tl.float32)
    v = tl.load(w_ptr + r * HW + p, mask=inside, other=0.0)
    usable = inside & (v != 0.0) & (e == e)
    bits = e.to(tl.int32, bitcast=True)
    key = tl.where(bits < 0, bits ^ 0x7FFFFFFF, bits)  # negative floats: larger magnitude, smaller key
    return p, inside, e, v, usable, key


@triton.jit
def _select_kernel(
    e_ptr,
    v_ptr,
    w_ptr,
    q_ptr,
    parts_ptr,
    parts_stride,
    H,
    W,
    seb,
    seh,
    sew,
    svb,
    svh,
    svw,
    RADIUS: tl.constexpr,
    SEARCH_STEPS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """parts[r] = sum of error·weight, parts[parts_stride + r] = sum of weight over row r; the eroded valid
    mask, then the weights, over the row's part of w."""
    r = tl.program_id(0).to(tl.int64)
    HW = H * W
    usable_count = tl.zeros([BLOCK], dtype=tl.int32)
    for start in range(0, HW, BLOCK):
        p = start + tl.arange(0, BLOCK)
        inside = p < HW
        eroded = _eroded(v_ptr, r, p, inside, H, W, svb, svh, svw, RADIUS)
        tl.store(w_ptr + r * HW + p, eroded, mask=inside)
        e = tl.load(e_ptr + r * seb + (p // W) * seh + (p % W) * sew, mask=inside, other=0.0).to(tl.float32)
        usable_count += (inside & (eroded != 0.0) & (e == e)).to(tl.int32)
    tl.debug_barrier()  # the eroded mask in memory before any thread of the program reads it back
    k = tl.sum(usable_count, axis=0)
    q = tl.load(q_ptr).to(tl.float32)
    wanted = tl.floor(q * (k - 1).to(tl.float32)).to(tl.int32) + 1
    lo = tl.full([], -2147483648, tl.int64)
    hi = tl.full([], 2147483647, tl.int64)
    for _step in range(SEARCH_STEPS):
        mid = (lo + hi) >> 1
        below = tl.zeros([BLOCK], dtype=tl.int32)
        for start in range(0, HW, BLOCK):
            block = _row_block(e_ptr, w_ptr, r, start, HW, W, seb, seh, sew, BLOCK)
            usable, key = block[4], block[5]
            below += (usable & (key.to(tl.int64) <= mid)).to(tl.int32)
        enough = tl.sum(below, axis=0) >= wanted
        hi = tl.where(enough, mid, hi)
        lo = tl.where(enough, lo, mid + 1)
    sums = tl.zeros([BLOCK], dtype=tl.float32)
    counts = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, HW, BLOCK):
        p, inside, e, v, usable, key = _row_block(e_ptr, w_ptr, r, start, HW, W, seb, seh, sew, BLOCK)
        weight = tl.where(usable & (key.to(tl.int64) <= lo) & (k > 0), v, 0.0)
        sums += e * weight
        counts += weight
        tl.store(w_ptr + r * HW + p, weight, mask=inside)
    tl.store(parts_ptr + r, tl.sum(sums, axis=0))
    tl.store(parts_ptr + parts_stride + r, tl.sum(counts, axis=0))


@triton.jit
def _backward_kernel(w_ptr, g_ptr, totals_ptr, d_ptr, level, L, HW, BLOCK_E: tl.constexpr):
    r = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_E + tl.arange(0, BLOCK_E)
    inside = p < HW
    scale = tl.load(g_ptr + level).to(tl.float32) / tl.maximum(tl.load(totals_ptr + L + level), 1.0)
    weight = tl.load(w_ptr + r * HW + p, mask=inside, other=0.0)
    tl.store(d_ptr + r * HW + p, weight * scale, mask=inside)


@triton.jit
def _finish_kernel(parts_ptr, means_ptr, totals_ptr, L, R, BLOCK_R: tl.constexpr):
    """parts (2, L, R) per-row sums -> totals (2, L) per level, means (L,) = sums / max(weights, 1)."""
    level = tl.program_id(0)
    sums = tl.zeros([BLOCK_R], dtype=tl.float32)
    weights = tl.zeros([BLOCK_R], dtype=tl.float32)
    for start in range(0, R, BLOCK_R):
        r = start + tl.arange(0, BLOCK_R)
        sums += tl.load(parts_ptr + level * R + r, mask=r < R, other=0.0)
        weights += tl.load(parts_ptr + (L + level) * R + r, mask=r < R, other=0.0)
    total, count = tl.sum(sums, axis=0), tl.sum(weights, axis=0)
    tl.store(totals_ptr + level, total)
    tl.store(totals_ptr + L + level, count)
    tl.store(means_ptr + level, total / tl.maximum(count, 1.0))


def forward(errors: Sequence[Tensor], valids: Sequence[Tensor], quantile: Tensor, radius: int) -> list[Tensor]:
    """errors, valids [(R, 1, H_l, W_l)], 0-d quantile, erosion radius -> [means (L,), weights (Σ R·H_l·W_l,),
    totals (2, L): the sums of error·weight and of weight per level], float32. One launch per level, one more
    for the means."""
    rows, levels = errors[0].shape[0], len(errors)
    sizes = [error[0].numel() for error in errors]
    device = errors[0].device
    weights = torch.empty(rows * sum(sizes), dtype=torch.float32, device=device)
    parts = torch.empty(2, levels, rows, dtype=torch.float32, device=device)
    offset = 0
    for level, (error, valid, size) in enumerate(zip(errors, valids, sizes, strict=True)):
        h, w = error.shape[-2:]
        (seb, _, seh, sew), (svb, _, svh, svw) = error.stride(), valid.stride()
        _select_kernel[(rows,)](
            error, valid, weights[offset : offset + rows * size], quantile, parts[0, level], parts.stride(0), h, w,
            seb, seh, sew, svb, svh, svw, RADIUS=radius, SEARCH_STEPS=SEARCH_STEPS, BLOCK=BLOCK,
        )  # fmt: skip
        offset += rows * size
    means = torch.empty(levels, dtype=torch.float32, device=device)
    totals = torch.empty(2, levels, dtype=torch.float32, device=device)
    _finish_kernel[(levels,)](parts, means, totals, levels, rows, BLOCK_R=BLOCK_R)
    return [means, weights, totals]


def backward(errors: Sequence[Tensor], weights: Tensor, totals: Tensor, grad: Tensor) -> list[Tensor]:
    """The forward's errors, weights and totals and dL/dmeans (L,) -> [dL/derror (R, 1, H_l, W_l)], contiguous."""
    rows, grads, offset = errors[0].shape[0], [], 0
    for level, error in enumerate(errors):
        size = error[0].numel()
        out = torch.empty(error.shape, dtype=torch.float32, device=error.device)
        _backward_kernel[(rows, triton.cdiv(size, BLOCK_E))](
            weights[offset : offset + rows * size], grad, totals, out, level, len(errors), size, BLOCK_E=BLOCK_E
        )
        grads.append(out)
        offset += rows * size
    return grads
