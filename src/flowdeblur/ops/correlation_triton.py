"""Triton kernels of the local correlation (cost volume) and its gradients, for CUDA tensors.

``out[b, k, p] = (1 / C) sum_c f1[b, c, p] f2[b, c, p + d_k]`` (0 outside ``f2``), ``k`` row-major over
``(dy, dx)`` in ``[-r, r]²``. Forward: one program per (batch, displacement, block of ``BLOCK_P`` pixels), summing
over the channels in tiles of ``BLOCK_C``; the shifted reads of ``f2`` overlap between displacements and come
from cache. Backward, gathers only (no atomics, deterministic): one program per (batch, block of pixels, block
of channels) loops over the displacements,
``grad_f1[p] = (1 / C) sum_k g[p, k] f2[p + d_k]`` and ``grad_f2[q] = (1 / C) sum_k g[q - d_k, k] f1[q - d_k]``.

The kernels read strides, so any memory layout of the inputs works; accumulation is in the output's dtype
(float32 at least, :mod:`flowdeblur.ops.correlation` calls them with float32 or float64 features); the forward
rounds its sums to the output's dtype when it stores them (bf16 costs for a bf16 estimator), the backward reads
dL/dout in any float dtype. This module
imports ``triton``; under ``TRITON_INTERPRET=1`` the kernels also run on CPU tensors (the tests).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_P = 64
BLOCK_C = 32


@triton.jit
def _forward_kernel(
    f1_ptr,
    f2_ptr,
    out_ptr,
    C,
    H,
    W,
    radius,
    s1b,
    s1c,
    s1h,
    s1w,
    s2b,
    s2c,
    s2h,
    s2w,
    sob,
    sok,
    soh,
    sow,
    BLOCK_P: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    size = 2 * radius + 1
    b = tl.program_id(0) // (size * size)
    k = tl.program_id(0) % (size * size)
    dy = k // size - radius
    dx = k % size - radius
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    y = p // W
    x = p % W
    inside = p < H * W
    shifted = inside & (y + dy >= 0) & (y + dy < H) & (x + dx >= 0) & (x + dx < W)
    at1 = b.to(tl.int64) * s1b + y * s1h + x * s1w
    at2 = b.to(tl.int64) * s2b + (y + dy) * s2h + (x + dx) * s2w
    dtype = f1_ptr.dtype.element_ty
    acc = tl.zeros([BLOCK_P], dtype=dtype)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        has_c = (c < C)[None, :]
        a = tl.load(f1_ptr + at1[:, None] + c[None, :] * s1c, mask=inside[:, None] & has_c, other=0.0)
        v = tl.load(f2_ptr + at2[:, None] + c[None, :] * s2c, mask=shifted[:, None] & has_c, other=0.0)
        acc += tl.sum(a.to(dtype) * v.to(dtype), axis=1)
    out = (acc / C).to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + b.to(tl.int64) * sob + k * sok + y * soh + x * sow, out, mask=inside)


@triton.jit
def _backward_kernel(
    f1_ptr,
    f2_ptr,
    g_ptr,
    d1_ptr,
    d2_ptr,
    C,
    H,
    W,
    radius,
    s1b,
    s1c,
    s1h,
    s1w,
    s2b,
    s2c,
    s2h,
    s2w,
    sgb,
    sgk,
    sgh,
    sgw,
    BLOCK_P: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    """d1, d2 have the strides of f1, f2."""
    b = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    c = tl.program_id(2) * BLOCK_C + tl.arange(0, BLOCK_C)
    y = p // W
    x = p % W
    inside = p < H * W
    has_c = (c < C)[None, :]
    size = 2 * radius + 1
    dtype = d1_ptr.dtype.element_ty
    acc1 = tl.zeros([BLOCK_P, BLOCK_C], dtype=dtype)
    acc2 = tl.zeros([BLOCK_P, BLOCK_C], dtype=dtype)
    for k in range(size * size):
        dy = k // size - radius
        dx = k % size - radius
        # grad_f1 at p: g[p, k] f2[p + d]
        ahead = inside & (y + dy >= 0) & (y + dy < H) & (x + dx >= 0) & (x + dx < W)
        g = tl.load(g_ptr + b * sgb + k * sgk + y * sgh + x * sgw, mask=ahead, other=0.0).to(dtype)
        v = tl.load(
            f2_ptr + b * s2b + (y + dy)[:, None] * s2h + (x + dx)[:, None] * s2w + c[None, :] * s2c,
            mask=ahead[:, None] & has_c,
            other=0.0,
        )
        acc1 += g[:, None] * v.to(dtype)
        # grad_f2 at q = p: g[q - d, k] f1[q - d]
        behind = inside & (y - dy >= 0) & (y - dy < H) & (x - dx >= 0) & (x - dx < W)
        g = tl.load(g_ptr + b * sgb + k * sgk + (y - dy) * sgh + (x - dx) * sgw, mask=behind, other=0.0).to(dtype)
        a = tl.load(
            f1_ptr + b * s1b + (y - dy)[:, None] * s1h + (x - dx)[:, None] * s1w + c[None, :] * s1c,
            mask=behind[:, None] & has_c,
            other=0.0,
        )
        acc2 += g[:, None] * a.to(dtype)
    mask = inside[:, None] & has_c
    tl.store(d1_ptr + b * s1b + y[:, None] * s1h + x[:, None] * s1w + c[None, :] * s1c, acc1 / C, mask=mask)
    tl.store(d2_ptr + b * s2b + y[:, None] * s2h + x[:, None] * s2w + c[None, :] * s2c, acc2 / C, mask=mask)


def forward(f1: Tensor, f2: Tensor, radius: int, dtype: torch.dtype) -> Tensor:
    """(B, C, H, W) ×2 (one dtype, float32 or float64) -> (B, (2r+1)², H, W) in ``dtype``, contiguous."""
    b, c, h, w = f1.shape
    size = (2 * radius + 1) ** 2
    out = torch.empty(b, size, h, w, dtype=dtype, device=f1.device)
    grid = (b * size, triton.cdiv(h * w, BLOCK_P))
    _forward_kernel[grid](
        f1, f2, out, c, h, w, radius, *f1.stride(), *f2.stride(), *out.stride(), BLOCK_P=BLOCK_P, BLOCK_C=BLOCK_C
    )
    return out


def backward(f1: Tensor, f2: Tensor, grad: Tensor, radius: int) -> tuple[Tensor, Tensor]:
    """The forward's inputs and dL/dout (B, (2r+1)², H, W) -> (dL/df1, dL/df2) laid out as f1 and f2."""
    b, c, h, w = f1.shape
    grad_f1, grad_f2 = torch.empty_like(f1), torch.empty_like(f2)
    if grad_f1.stride() != f1.stride() or grad_f2.stride() != f2.stride():
        raise ValueError("correlation backward: expected dense f1 and f2")
    grid = (b, triton.cdiv(h * w, BLOCK_P), triton.cdiv(c, BLOCK_C))
    _backward_kernel[grid](
        f1,
        f2,
        grad,
        grad_f1,
        grad_f2,
        c,
        h,
        w,
        radius,
        *f1.stride(),
        *f2.stride(),
        *grad.stride(),
        BLOCK_P=BLOCK_P,
        BLOCK_C=BLOCK_C,
    )
    return grad_f1, grad_f2
