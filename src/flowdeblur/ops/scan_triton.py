"""Triton kernels of the four-direction gated scan, forward and backward (one launch each).

Work split: the grid is (line blocks, 4 directions). A *line* is one row (horizontal directions) or one column
(vertical ones) of one (batch, channel) plane; a program takes ``BLOCK_L`` lines and walks along them one
position per step, ``h = x + g (h - x)`` for all its lines at once, in registers. At these sizes (T <= 1280 and
hundreds to thousands of line blocks per call) a sequential walk keeps every thread busy with plain loads and
one fused multiply-add per step; the loads do not depend on the state, so the compiler can pipeline them. An
associative scan over tiles of positions (``tl.associative_scan`` with ``(a1, b1), (a2, b2) -> (a1 a2,
a2 b1 + b2)``) is the alternative for few long lines; it also does ~2x the arithmetic. Only products of gates
occur (``|g| <= 1``), never a division.

Layouts: the kernels read strides, and every tensor of one call shares one memory format, contiguous (N, C, H, W)
or channels-last, chosen by the caller (:mod:`flowdeblur.ops.scan_op`). Consecutive lines of a block are
consecutive channels (channels-last: each step of a block reads contiguous memory, in every direction) or, in
NCHW, consecutive columns (vertical directions: contiguous) or consecutive rows of a plane (horizontal
directions: one element per row per step, strided by W; the rest of each cache line is read in the next steps).

Precision: values are loaded in their storage dtype (bf16, float32, float64) and the state is kept in the
output's dtype, float32 at least. The backward is the same scan against the scan direction on the incoming
gradient: ``u_t = dL/dh_t + g_{t+1} u_{t+1}``, ``dL/dx_t = (1 - g_t) u_t`` (written per direction, summed by the
caller) and ``dL/dg_t = u_t (h_{t-1} - x_t)``.

This module imports ``triton``; import it only where Triton is installed. Under ``TRITON_INTERPRET=1`` (set
before Triton is first imported) the kernels run on CPU tensors, which is how the tests check them.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

# lines per program (a power of two): one element per thread at 4 warps
BLOCK_L = 128


@triton.jit
def _lines(
    pid,
    direction,
    B,
    C,
    H,
    W,
    sxb,
    sxc,
    sxh,
    sxw,
    sgb,
    sgc,
    sgh,
    sgw,
    CHANNELS_LAST: tl.constexpr,
    BLOCK_L: tl.constexpr,
):
    """The block's lines for ``direction``: their start offsets in x and in the direction's gate block, the
    line mask, the line length T and the strides along it (x, gates)."""
    horizontal = direction < 2
    length = tl.where(horizontal, W, H)
    across = tl.where(horizontal, H, W)  # lines per plane
    step_x = tl.where(horizontal, sxw, sxh)
    step_g = tl.where(horizontal, sgw, sgh)
    across_x = tl.where(horizontal, sxh, sxw)
    across_g = tl.where(horizontal, sgh, sgw)
    line = (pid * BLOCK_L + tl.arange(0, BLOCK_L)).to(tl.int64)
    mask = line < B * C * across
    if CHANNELS_LAST:
        c = line % C
        o = (line // C) % across
        b = line // (C * across)
    else:
        o = line % across
        c = (line // across) % C
        b = line // (across * C)
    base_x = b * sxb + c * sxc + o * across_x
    base_g = b * sgb + (direction * C + c) * sgc + o * across_g
    return base_x, base_g, mask, length, step_x, step_g


@triton.jit
def _forward_kernel(
    x_ptr,
    g_ptr,
    out_ptr,
    B,
    C,
    H,
    W,
    sxb,
    sxc,
    sxh,
    sxw,
    sgb,
    sgc,
    sgh,
    sgw,
    CHANNELS_LAST: tl.constexpr,
    BLOCK_L: tl.constexpr,
):
    direction = tl.program_id(1)
    base_x, base_g, mask, length, step_x, step_g = _lines(
        tl.program_id(0), direction, B, C, H, W, sxb, sxc, sxh, sxw, sgb, sgc, sgh, sgw, CHANNELS_LAST, BLOCK_L
    )
    # walk the lines in scan order: from their first position (reverse: their last) one position per step
    first = tl.where(direction % 2 == 1, length - 1, 0).to(tl.int64)
    step = tl.where(direction % 2 == 1, -1, 1).to(tl.int64)
    x_at = x_ptr + base_x + first * step_x
    g_at = g_ptr + base_g + first * step_g
    out_at = out_ptr + base_g + first * step_g
    dtype = out_ptr.dtype.element_ty
    h = tl.zeros([BLOCK_L], dtype=dtype)
    for _ in range(length):
        x = tl.load(x_at, mask=mask, other=0.0).to(dtype)
        g = tl.load(g_at, mask=mask, other=0.0).to(dtype)
        h = x + g * (h - x)
        tl.store(out_at, h, mask=mask)
        x_at += step * step_x
        g_at += step * step_g
        out_at += step * step_g


@triton.jit
def _backward_kernel(
    x_ptr,
    g_ptr,
    h_ptr,
    dh_ptr,
    dx_ptr,
    dg_ptr,
    B,
    C,
    H,
    W,
    sxb,
    sxc,
    sxh,
    sxw,
    sgb,
    sgc,
    sgh,
    sgw,
    CHANNELS_LAST: tl.constexpr,
    BLOCK_L: tl.constexpr,
):
    """Against the scan order, from the last position of the scan to the first; dx goes to the direction's
    block of a (B, 4C, H, W) buffer laid out as the gates."""
    direction = tl.program_id(1)
    base_x, base_g, mask, length, step_x, step_g = _lines(
        tl.program_id(0), direction, B, C, H, W, sxb, sxc, sxh, sxw, sgb, sgc, sgh, sgw, CHANNELS_LAST, BLOCK_L
    )
    last = tl.where(direction % 2 == 1, 0, length - 1).to(tl.int64)
    step = tl.where(direction % 2 == 1, 1, -1).to(tl.int64)  # one step back in scan order
    x_at = x_ptr + base_x + last * step_x
    at = base_g + last * step_g  # offset in every (B, 4C, H, W) tensor
    dtype = h_ptr.dtype.element_ty
    steps = tl.zeros([BLOCK_L], dtype=tl.int32)  # h_prev is 0 at the first position in scan order
    u = tl.zeros([BLOCK_L], dtype=dtype)
    g_next = tl.zeros([BLOCK_L], dtype=dtype)
    for i in range(length):
        g = tl.load(g_ptr + at, mask=mask, other=0.0).to(dtype)
        u = tl.load(dh_ptr + at, mask=mask, other=0.0).to(dtype) + g_next * u
        x = tl.load(x_at, mask=mask, other=0.0).to(dtype)
        h_prev = tl.load(h_ptr + at + step * step_g, mask=mask & (steps + i < length - 1), other=0.0).to(dtype)
        tl.store(dx_ptr + at, (1 - g) * u, mask=mask)
        tl.store(dg_ptr + at, u * (h_prev - x), mask=mask)
        g_next = g
        x_at += step * step_x
        at += step * step_g


def _launch_args(x: Tensor, gates: Tensor, block_l: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The grid and the shape/stride arguments shared by both kernels (one program per ``block_l`` lines of the
    direction with more lines, times four directions)."""
    b, c, h, w = x.shape
    grid = (triton.cdiv(b * c * max(h, w), block_l), 4)
    return grid, (b, c, h, w, *x.stride(), *gates.stride())


def forward(x: Tensor, gates: Tensor, out: Tensor, channels_last: bool, block_l: int | None = None) -> Tensor:
    """x (B, C, H, W), gates (B, 4C, H, W) -> out (B, 4C, H, W), written in place; all three in the memory
    format ``channels_last`` says, out in the state's dtype. ``block_l``: lines per program (a power of 2;
    default :data:`BLOCK_L`)."""
    block_l = block_l or BLOCK_L
    grid, args = _launch_args(x, gates, block_l)
    _forward_kernel[grid](x, gates, out, *args, CHANNELS_LAST=channels_last, BLOCK_L=block_l)
    return out


def backward(
    x: Tensor,
    gates: Tensor,
    out: Tensor,
    grad_out: Tensor,
    channels_last: bool,
    block_l: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The forward's tensors and dL/dout (all in one memory format) -> (dL/dx, dL/dgates) in the state's dtype
    (dL/dx: (B, 4, C, H, W) per direction, to be summed over dim 1)."""
    block_l = block_l or BLOCK_L
    grid, args = _launch_args(x, gates, block_l)
    grad_x4 = torch.empty_like(out)
    grad_gates = torch.empty_like(out)
    _backward_kernel[grid](
        x,
        gates,
        out,
        grad_out,
        grad_x4,
        grad_gates,
        *args,
        CHANNELS_LAST=channels_last,
        BLOCK_L=block_l,
    )
    b, c4, h, w = out.shape
    return grad_x4.view(b, 4, c4 // 4, h, w), grad_gates
