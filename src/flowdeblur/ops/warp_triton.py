"""Triton kernels of backward warping (bilinear, zeros outside the frame) and its gradients, for CUDA tensors.

``out[c](p) = image[c](p + flow(p))`` with the four taps around ``p + flow(p)`` weighted bilinearly and taps
outside the frame counting as 0: what ``grid_sample(mode="bilinear", padding_mode="zeros", align_corners=True)``
computes from a normalised grid, here straight from the flow in pixels (no grid tensor, no normalisation).
``valid(p)`` is 1 where ``p + flow(p)`` lies inside the frame.

Forward: one program per (image, block of ``BLOCK_P`` pixels), channels in a loop. The images may come as
(B, N, C, H, W) with any strides (a window's neighbours where they lie): flow row ``i`` reads image
``(i // N, i % N)``. Backward: the flow gradient
is a gather at each pixel (the four taps' differences against ``dL/dout``); the image gradient is a scatter of
each pixel's ``dL/dout`` to its four taps by atomic adds into a zeroed tensor (only when the image needs one),
so its last bits depend on the order of the additions. Arithmetic in float32 (float64 for float64 inputs).
This module imports ``triton``; under ``TRITON_INTERPRET=1`` it also runs on CPU tensors.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_P = 128


@triton.jit
def _taps(f_ptr, n, y, x, sfb, sfc, sfh, sfw, H, W, inside):
    """Sampling position, its top-left tap, the bilinear weights and which of the four taps lie in the frame."""
    fx = tl.load(f_ptr + n * sfb + y * sfh + x * sfw, mask=inside, other=0.0)
    fy = tl.load(f_ptr + n * sfb + sfc + y * sfh + x * sfw, mask=inside, other=0.0)
    sx = x + fx
    sy = y + fy
    x0f = tl.floor(sx)
    y0f = tl.floor(sy)
    wx = sx - x0f
    wy = sy - y0f
    x0 = x0f.to(tl.int32)
    y0 = y0f.to(tl.int32)
    in_x0 = (x0 >= 0) & (x0 < W)
    in_x1 = (x0 + 1 >= 0) & (x0 + 1 < W)
    in_y0 = (y0 >= 0) & (y0 < H)
    in_y1 = (y0 + 1 >= 0) & (y0 + 1 < H)
    valid = inside & (sx >= 0) & (sx <= W - 1) & (sy >= 0) & (sy <= H - 1)
    return (
        x0,
        y0,
        wx,
        wy,
        inside & in_x0 & in_y0,
        inside & in_x1 & in_y0,
        inside & in_x0 & in_y1,
        inside & in_x1 & in_y1,
        valid,
    )


@triton.jit
def _tap_values(at, sih, siw, m00, m10, m01, m11, dtype: tl.constexpr):
    """The four taps of one channel (0 outside the frame), in ``dtype``."""
    v00 = tl.load(at, mask=m00, other=0.0).to(dtype)
    v10 = tl.load(at + siw, mask=m10, other=0.0).to(dtype)
    v01 = tl.load(at + sih, mask=m01, other=0.0).to(dtype)
    v11 = tl.load(at + sih + siw, mask=m11, other=0.0).to(dtype)
    return v00, v10, v01, v11


@triton.jit
def _forward_kernel(
    i_ptr,
    f_ptr,
    out_ptr,
    valid_ptr,
    C,
    H,
    W,
    N,
    sib,
    sin,
    sic,
    sih,
    siw,
    sfb,
    sfc,
    sfh,
    sfw,
    sob,
    soc,
    soh,
    sow,
    BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < H * W
    y = p // W
    x = p % W
    x0, y0, wx, wy, m00, m10, m01, m11, valid = _taps(f_ptr, n, y, x, sfb, sfc, sfh, sfw, H, W, inside)
    at = i_ptr + (n // N) * sib + (n % N) * sin + y0 * sih + x0 * siw
    for c in range(C):
        v00, v10, v01, v11 = _tap_values(at + c * sic, sih, siw, m00, m10, m01, m11, wx.dtype)
        top = v00 + wx * (v10 - v00)
        bottom = v01 + wx * (v11 - v01)
        tl.store(out_ptr + n * sob + c * soc + y * soh + x * sow, top + wy * (bottom - top), mask=inside)
    tl.store(valid_ptr + n * H * W + p, valid.to(valid_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _backward_kernel(
    i_ptr,
    f_ptr,
    g_ptr,
    di_ptr,
    df_ptr,
    C,
    H,
    W,
    N,
    sib,
    sin,
    sic,
    sih,
    siw,
    sfb,
    sfc,
    sfh,
    sfw,
    sgb,
    sgc,
    sgh,
    sgw,
    NEED_IMAGE: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    """di: contiguous (B, C, H, W), zero on entry; df: contiguous (B, 2, H, W)."""
    n = tl.program_id(0).to(tl.int64)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < H * W
    y = p // W
    x = p % W
    x0, y0, wx, wy, m00, m10, m01, m11, valid = _taps(f_ptr, n, y, x, sfb, sfc, sfh, sfw, H, W, inside)
    at = i_ptr + (n // N) * sib + (n % N) * sin + y0 * sih + x0 * siw
    grad_x = tl.zeros([BLOCK_P], dtype=wx.dtype)
    grad_y = tl.zeros([BLOCK_P], dtype=wx.dtype)
    for c in range(C):
        g = tl.load(g_ptr + n * sgb + c * sgc + y * sgh + x * sgw, mask=inside, other=0.0).to(wx.dtype)
        v00, v10, v01, v11 = _tap_values(at + c * sic, sih, siw, m00, m10, m01, m11, wx.dtype)
        grad_x += g * ((1.0 - wy) * (v10 - v00) + wy * (v11 - v01))
        grad_y += g * ((1.0 - wx) * (v01 - v00) + wx * (v11 - v10))
        if NEED_IMAGE:
            to = di_ptr + ((n * C + c) * H + y0) * W + x0
            tl.atomic_add(to, g * (1.0 - wx) * (1.0 - wy), mask=m00)
            tl.atomic_add(to + 1, g * wx * (1.0 - wy), mask=m10)
            tl.atomic_add(to + W, g * (1.0 - wx) * wy, mask=m01)
            tl.atomic_add(to + W + 1, g * wx * wy, mask=m11)
    tl.store(df_ptr + n * 2 * H * W + p, grad_x, mask=inside)
    tl.store(df_ptr + (n * 2 + 1) * H * W + p, grad_y, mask=inside)


def _image_strides(image: Tensor) -> tuple[int, ...]:
    """N and the strides (sample, neighbour, channel, row, column) of a (B, C, H, W) or (B, N, C, H, W) image: row
    ``i`` of the flows reads image ``(i // N, i % N)``."""
    if image.dim() == 4:
        return 1, image.stride(0), 0, *image.stride()[1:]
    return image.shape[1], *image.stride()


def forward(image: Tensor, flow: Tensor) -> tuple[Tensor, Tensor]:
    """image (B·N, C, H, W) or (B, N, C, H, W) any float dtype, flow (B·N, 2, H, W) float32/64 -> warped
    (B·N, C, H, W) and valid (B·N, 1, H, W), both in the flow's dtype and contiguous."""
    rows, (c, h, w) = flow.shape[0], image.shape[-3:]
    out = torch.empty(rows, c, h, w, dtype=flow.dtype, device=image.device)
    valid = torch.empty(rows, 1, h, w, dtype=flow.dtype, device=image.device)
    grid = (rows, triton.cdiv(h * w, BLOCK_P))
    _forward_kernel[grid](
        image, flow, out, valid, c, h, w, *_image_strides(image), *flow.stride(), *out.stride(), BLOCK_P=BLOCK_P
    )
    return out, valid


def backward(image: Tensor, flow: Tensor, grad: Tensor, need_image: bool) -> tuple[Tensor | None, Tensor]:
    """The forward's inputs and dL/dwarped -> dL/dimage (shaped as the image, contiguous, the flow's dtype; None
    unless ``need_image``) and dL/dflow (contiguous)."""
    rows, (c, h, w) = flow.shape[0], image.shape[-3:]
    grad_flow = torch.empty(rows, 2, h, w, dtype=flow.dtype, device=flow.device)
    grad_image = torch.zeros(image.shape, dtype=flow.dtype, device=flow.device) if need_image else grad_flow
    grid = (rows, triton.cdiv(h * w, BLOCK_P))
    _backward_kernel[grid](
        image,
        flow,
        grad,
        grad_image,
        grad_flow,
        c,
        h,
        w,
        *_image_strides(image),
        *flow.stride(),
        *grad.stride(),
        NEED_IMAGE=need_image,
        BLOCK_P=BLOCK_P,
    )
    return (grad_image if need_image else None), grad_flow
