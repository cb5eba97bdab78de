"""Triton kernels of the edge-aware first-order flow smoothness of one level and its gradient, for CUDA tensors.

``loss = 0.5 / C · (Sx / (H (W-1)) + Sy / ((H-1) W))`` with ``Sx = sum_{b, c, y, x<W-1} |F[c](y, x+1) - F[c](y, x)|
· exp(-alpha / 3 · sum_rgb |I(y, x+1) - I(y, x)|)`` over the ``C`` flow channels of every image of the batch
(``B`` of them; ``C`` here counts all flows' channels, ``B · 2N``), ``Sy`` likewise along y: the formula of
:func:`flowdeblur.losses.warping.smoothness_losses`, whose PyTorch version is the reference. The flows of a
window's N neighbours come as N rows (B·N, 2, H, W): row i takes its edges from image i // N.

Forward: one program per (image, block of ``BLOCK_P`` pixels) adds its pixels' weighted differences into the
scalar output by one atomic add (a fill and one kernel). Backward, gathers only: the flow gradient at a pixel
takes the signs of its differences to the left, right, up and down neighbours, each weighted by that pair's
edge weight (one kernel; the image gets no gradient, it is the target frame). Arithmetic in the flow's dtype
(float32 or float64). This module imports ``triton``; under ``TRITON_INTERPRET=1`` it also runs on CPU tensors.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_P = 128


@triton.jit
def _edge_weight(i_ptr, at, step, sic, alpha, mask):
    """exp(-alpha / 3 · sum over RGB of |I[at + step] - I[at]|)."""
    total = tl.abs(tl.load(i_ptr + at + step, mask=mask, other=0.0) - tl.load(i_ptr + at, mask=mask, other=0.0))
    for c in range(1, 3):
        here = tl.load(i_ptr + at + c * sic, mask=mask, other=0.0)
        total += tl.abs(tl.load(i_ptr + at + c * sic + step, mask=mask, other=0.0) - here)
    return tl.exp(-alpha / 3.0 * total)


@triton.jit
def _forward_kernel(
    f_ptr,
    i_ptr,
    out_ptr,
    C,
    H,
    W,
    repeat,
    alpha,
    scale_x,
    scale_y,
    sfb,
    sfc,
    sfh,
    sfw,
    sib,
    sic,
    sih,
    siw,
    BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    y = p // W
    x = p % W
    has_x = (p < H * W) & (x < W - 1)
    has_y = (p < H * W) & (y < H - 1)
    at_i = (n // repeat) * sib + y * sih + x * siw
    weight_x = _edge_weight(i_ptr, at_i, siw, sic, alpha, has_x)
    weight_y = _edge_weight(i_ptr, at_i, sih, sic, alpha, has_y)
    at_f = n * sfb + y * sfh + x * sfw
    cost_x = tl.zeros([BLOCK_P], dtype=out_ptr.dtype.element_ty)
    cost_y = tl.zeros([BLOCK_P], dtype=out_ptr.dtype.element_ty)
    for c in range(C):
        here = tl.load(f_ptr + at_f + c * sfc, mask=has_x | has_y, other=0.0)
        cost_x += tl.abs(tl.load(f_ptr + at_f + c * sfc + sfw, mask=has_x, other=0.0) - here)
        cost_y += tl.abs(tl.load(f_ptr + at_f + c * sfc + sfh, mask=has_y, other=0.0) - here)
    total = tl.where(has_x, cost_x * weight_x, 0.0) * scale_x + tl.where(has_y, cost_y * weight_y, 0.0) * scale_y
    tl.atomic_add(out_ptr, tl.sum(total, axis=0))


@triton.jit
def _sign(d):
    return tl.where(d > 0, 1.0, tl.where(d < 0, -1.0, 0.0))


@triton.jit
def _backward_kernel(
    f_ptr,
    i_ptr,
    g_ptr,
    d_ptr,
    C,
    H,
    W,
    repeat,
    alpha,
    scale_x,
    scale_y,
    sfb,
    sfc,
    sfh,
    sfw,
    sib,
    sic,
    sih,
    siw,
    BLOCK_P: tl.constexpr,
):
    """d has the strides of f; g is the 0-d dL/dloss."""
    n = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < H * W
    y = p // W
    x = p % W
    at_i = (n // repeat) * sib + y * sih + x * siw
    right = inside & (x < W - 1)
    left = inside & (x > 0)
    down = inside & (y < H - 1)
    up = inside & (y > 0)
    grad = tl.load(g_ptr)
    weight_right = _edge_weight(i_ptr, at_i, siw, sic, alpha, right) * grad * scale_x
    weight_left = _edge_weight(i_ptr, at_i - siw, siw, sic, alpha, left) * grad * scale_x
    weight_down = _edge_weight(i_ptr, at_i, sih, sic, alpha, down) * grad * scale_y
    weight_up = _edge_weight(i_ptr, at_i - sih, sih, sic, alpha, up) * grad * scale_y
    at_f = n * sfb + y * sfh + x * sfw
    for c in range(C):
        at = f_ptr + at_f + c * sfc
        here = tl.load(at, mask=inside, other=0.0)
        total = tl.where(left, weight_left * _sign(here - tl.load(at - sfw, mask=left, other=0.0)), 0.0)
        total -= tl.where(right, weight_right * _sign(tl.load(at + sfw, mask=right, other=0.0) - here), 0.0)
        total += tl.where(up, weight_up * _sign(here - tl.load(at - sfh, mask=up, other=0.0)), 0.0)
        total -= tl.where(down, weight_down * _sign(tl.load(at + sfh, mask=down, other=0.0) - here), 0.0)
        tl.store(d_ptr + at_f + c * sfc, total, mask=inside)


def _scales(flow: Tensor) -> tuple[float, float]:
    b, c, h, w = flow.shape
    return 0.5 / (b * c * h * (w - 1)), 0.5 / (b * c * (h - 1) * w)


def forward(flow: Tensor, image: Tensor, alpha: float) -> Tensor:
    """flow (B, C, H, W), image (B / R, 3, H, W) (flow i's edges from image i // R), one dtype (float32 or
    float64), H, W >= 2 -> 0-d loss."""
    b, c, h, w = flow.shape
    out = torch.zeros((), dtype=flow.dtype, device=flow.device)
    grid = (b, triton.cdiv(h * w, BLOCK_P))
    repeat = b // image.shape[0]
    _forward_kernel[grid](
        flow, image, out, c, h, w, repeat, alpha, *_scales(flow), *flow.stride(), *image.stride(), BLOCK_P=BLOCK_P
    )
    return out


def backward(flow: Tensor, image: Tensor, grad: Tensor, alpha: float) -> Tensor:
    """The forward's inputs and the 0-d dL/dloss -> dL/dflow laid out as ``flow``."""
    b, c, h, w = flow.shape
    grad_flow = torch.empty_like(flow)
    if grad_flow.stride() != flow.stride():
        raise ValueError("smoothness backward: expected a dense flow")
    grid = (b, triton.cdiv(h * w, BLOCK_P))
    _backward_kernel[grid](
        flow,
        image,
        grad,
        grad_flow,
        c,
        h,
        w,
        b // image.shape[0],
        alpha,
        *_scales(flow),
        *flow.stride(),
        *image.stride(),
        BLOCK_P=BLOCK_P,
    )
    return grad_flow
