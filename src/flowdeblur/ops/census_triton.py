"""Triton kernels of the soft census distance and its gradient, for CUDA tensors (one launch each way).

``dist[b, p] = (1 / (K - 1)) sum_k f(s_a[p, k] - s_b[p, k])`` with ``K = (2r+1)²`` neighbour offsets ``o_k``
(row-major over ``(dy, dx)``, the centre included, where it adds 0), ``f(d) = d² / (0.1 + d²)``, the soft sign
``s[p, k] = δ / sqrt(0.81 + δ²)`` of ``δ = gray(clamp(p + o_k)) - gray(p)`` (borders replicated) and
``gray = 255 (0.299 R + 0.587 G + 0.114 B)``: the formula of :mod:`flowdeblur.losses.census`, whose PyTorch
version is the reference, computed per pixel without materialising the (B, K, H·W) patches.

Forward: one program per (image, block of ``BLOCK_P`` pixels), luma from RGB on the fly, the K neighbours from
cache. Backward: the same walk computes ``c[p, k] = dL/dδ``; ``-c`` goes to the centre ``p`` (summed in
registers, one store) and ``+c`` to the neighbour ``clamp(p + o_k)`` by an atomic add (replicated borders send
several offsets to one pixel, so a gather would need per-border loops) into a zeroed dL/dgray, which a third
kernel spreads to dL/dRGB: three launches (a fill and two kernels). Atomic float additions make the gradient's
last bits depend on their order.

``a`` may have fewer images than ``b`` (a window's target against each of its neighbours): image ``i`` of ``b``
meets image ``i // R`` of ``a``, ``R`` = B_b / B_a, read where it lies (no repeated copy of ``a``).

The kernels read strides (any layout of the (B, 3, H, W) inputs); arithmetic in the inputs' dtype (float32 or
float64). This module imports ``triton``; under ``TRITON_INTERPRET=1`` the kernels also run on CPU tensors.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_P = 128
LUMA = (0.299, 0.587, 0.114)


@triton.jit
def _gray(ptr, base, y, x, sc, sh, sw, mask):
    at = base + y * sh + x * sw
    r = tl.load(ptr + at, mask=mask, other=0.0)
    g = tl.load(ptr + at + sc, mask=mask, other=0.0)
    b = tl.load(ptr + at + 2 * sc, mask=mask, other=0.0)
    return 255.0 * (r * 0.299 + g * 0.587 + b * 0.114)


@triton.jit
def _soft_sign(delta):
    return delta / tl.sqrt(0.81 + delta * delta)


@triton.jit
def _neighbour(y, x, k, radius, H, W):
    """Row and column of offset ``k`` (row-major over the (2r+1)² window) from (y, x), borders replicated."""
    size = 2 * radius + 1
    yy = tl.minimum(tl.maximum(y + (k // size - radius), 0), H - 1)
    xx = tl.minimum(tl.maximum(x + (k % size - radius), 0), W - 1)
    return yy, xx


@triton.jit
def _forward_kernel(
    a_ptr, b_ptr, out_ptr, H, W, radius, repeat, sab, sac, sah, saw, sbb, sbc, sbh, sbw, BLOCK_P: tl.constexpr
):
    n = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < H * W
    y = p // W
    x = p % W
    base_a = (n // repeat) * sab
    base_b = n * sbb
    centre_a = _gray(a_ptr, base_a, y, x, sac, sah, saw, inside)
    centre_b = _gray(b_ptr, base_b, y, x, sbc, sbh, sbw, inside)
    size = 2 * radius + 1
    acc = tl.zeros([BLOCK_P], dtype=out_ptr.dtype.element_ty)
    for k in range(size * size):
        yy, xx = _neighbour(y, x, k, radius, H, W)
        s_a = _soft_sign(_gray(a_ptr, base_a, yy, xx, sac, sah, saw, inside) - centre_a)
        s_b = _soft_sign(_gray(b_ptr, base_b, yy, xx, sbc, sbh, sbw, inside) - centre_b)
        d2 = (s_a - s_b) * (s_a - s_b)
        acc += d2 / (0.1 + d2)
    tl.store(out_ptr + n * H * W + p, acc / (size * size - 1), mask=inside)


@triton.jit
def _backward_kernel(
    a_ptr,
    b_ptr,
    g_ptr,
    da_ptr,
    db_ptr,
    H,
    W,
    radius,
    repeat,
    sab,
    sac,
    sah,
    saw,
    sbb,
    sbc,
    sbh,
    sbw,
    NEED_A: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    """g, db: (B, H·W), da: (B / repeat, H·W), contiguous; da and db zero on entry (atomic adds)."""
    n = tl.program_id(0).to(tl.int64)
    m = n // repeat
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < H * W
    y = p // W
    x = p % W
    base_a = m * sab
    base_b = n * sbb
    centre_a = _gray(a_ptr, base_a, y, x, sac, sah, saw, inside)
    centre_b = _gray(b_ptr, base_b, y, x, sbc, sbh, sbw, inside)
    size = 2 * radius + 1
    grad = tl.load(g_ptr + n * H * W + p, mask=inside, other=0.0) / (size * size - 1)
    own_a = tl.zeros([BLOCK_P], dtype=db_ptr.dtype.element_ty)
    own_b = tl.zeros([BLOCK_P], dtype=db_ptr.dtype.element_ty)
    for k in range(size * size):
        yy, xx = _neighbour(y, x, k, radius, H, W)
        delta_a = _gray(a_ptr, base_a, yy, xx, sac, sah, saw, inside) - centre_a
        delta_b = _gray(b_ptr, base_b, yy, xx, sbc, sbh, sbw, inside) - centre_b
        scale_a = 0.81 + delta_a * delta_a
        scale_b = 0.81 + delta_b * delta_b
        d = _soft_sign(delta_a) - _soft_sign(delta_b)
        # dL/dd = grad f'(d), f'(d) = 0.2 d / (0.1 + d²)²; ds/dδ = 0.81 / (0.81 + δ²)^(3/2)
        slope = grad * 0.2 * d / ((0.1 + d * d) * (0.1 + d * d))
        c_b = -slope * 0.81 / (scale_b * tl.sqrt(scale_b))
        own_b -= c_b
        tl.atomic_add(db_ptr + n * H * W + yy * W + xx, c_b, mask=inside)
        if NEED_A:
            c_a = slope * 0.81 / (scale_a * tl.sqrt(scale_a))
            own_a -= c_a
            tl.atomic_add(da_ptr + m * H * W + yy * W + xx, c_a, mask=inside)
    tl.atomic_add(db_ptr + n * H * W + p, own_b, mask=inside)
    if NEED_A:
        tl.atomic_add(da_ptr + m * H * W + p, own_a, mask=inside)


def forward(a: Tensor, b: Tensor, radius: int) -> Tensor:
    """a (B / R, 3, H, W), b (B, 3, H, W) (one dtype, float32 or float64) -> (B, 1, H, W) census distance of
    b[i] to a[i // R], contiguous."""
    n, _, h, w = b.shape
    out = torch.empty(n, 1, h, w, dtype=a.dtype, device=a.device)
    grid = (n, triton.cdiv(h * w, BLOCK_P))
    repeat = n // a.shape[0]
    _forward_kernel[grid](a, b, out, h, w, radius, repeat, *a.stride(), *b.stride(), BLOCK_P=BLOCK_P)
    return out


@triton.jit
def _to_rgb_kernel(g_ptr, out_ptr, HW, W, sob, soc, soh, sow, BLOCK_P: tl.constexpr):
    """out[n, c, p] = 255 luma[c] g[n, p]: dL/dRGB from dL/dgray."""
    n = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < HW
    g = 255.0 * tl.load(g_ptr + n * HW + p, mask=inside, other=0.0)
    at = out_ptr + n * sob + (p // W) * soh + (p % W) * sow
    tl.store(at, g * 0.299, mask=inside)
    tl.store(at + soc, g * 0.587, mask=inside)
    tl.store(at + 2 * soc, g * 0.114, mask=inside)


def _to_rgb(grad_gray: Tensor, like: Tensor) -> Tensor:
    """(B, 1, H, W) dL/dgray -> (B, 3, H, W) dL/dRGB laid out as ``like``."""
    n, _, h, w = like.shape
    out = torch.empty_like(like)
    grid = (n, triton.cdiv(h * w, BLOCK_P))
    _to_rgb_kernel[grid](grad_gray, out, h * w, w, *out.stride(), BLOCK_P=BLOCK_P)
    return out


def backward(a: Tensor, b: Tensor, grad: Tensor, radius: int, need_a: bool) -> tuple[Tensor | None, Tensor]:
    """The forward's inputs and dL/ddist (B, 1, H, W) -> dL/da (None unless ``need_a``; summed over the R rows
    of b that each row of a meets) and dL/db, laid out as the inputs."""
    n, _, h, w = b.shape
    grad_b = torch.zeros(n, 1, h, w, dtype=a.dtype, device=a.device)
    grad_a = torch.zeros(a.shape[0], 1, h, w, dtype=a.dtype, device=a.device) if need_a else grad_b
    grid = (n, triton.cdiv(h * w, BLOCK_P))
    _backward_kernel[grid](
        a,
        b,
        grad.contiguous(),
        grad_a,
        grad_b,
        h,
        w,
        radius,
        n // a.shape[0],
        *a.stride(),
        *b.stride(),
        NEED_A=need_a,
        BLOCK_P=BLOCK_P,
    )
    return (_to_rgb(grad_a, a) if need_a else None), _to_rgb(grad_b, b)
