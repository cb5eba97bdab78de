"""The project's one warp op: backward warping of an image by a flow in pixels.

Precision rule: sampling positions and flow up-sampling are computed in float32 whatever the autocast or the
flow's dtype (a bf16 grid is rounded to 0.25 px at x ~ 32-64 and to whole pixels beyond 128), so callers never
need to cast. Outputs are float32.

On CUDA tensors (where Triton is installed) warping is one custom op (``flowdeblur::warp`` and its backward,
Triton kernels of :mod:`flowdeblur.ops.warp_triton`: one launch forward, one or two backward) instead of the
~20 kernels of building a normalised grid, ``grid_sample`` and the valid mask; elsewhere ``grid_sample`` runs,
and it is the reference the kernels are tested against.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.ops import triton_kernels

KERNELS = "warp_triton"  # the module of the Triton kernels


def backend(flow: Tensor, impl: str = "fast") -> str:
    """``triton`` or ``torch`` (:func:`flowdeblur.ops.triton_kernels.fused_or_torch`)."""
    return triton_kernels.fused_or_torch(flow, impl, KERNELS, "warp")


@torch.library.custom_op("flowdeblur::warp", mutates_args=())
def warp_op(image: Tensor, flow: Tensor) -> tuple[Tensor, Tensor]:
    """image (B, C, H, W) or (B / N, N, C, H, W) any float dtype, flow (B, 2, H, W) -> warped (B, C, H, W) and
    valid (B, 1, H, W), float32 (float64 for a float64 flow), by the Triton kernel; zeros outside the frame."""
    state = torch.promote_types(flow.dtype, torch.float32)
    return triton_kernels.require(KERNELS).forward(image, flow.to(state))


@warp_op.register_fake
def _(image: Tensor, flow: Tensor) -> tuple[Tensor, Tensor]:
    state = torch.promote_types(flow.dtype, torch.float32)
    b, (c, h, w) = flow.shape[0], image.shape[-3:]
    return image.new_empty(b, c, h, w, dtype=state), image.new_empty(b, 1, h, w, dtype=state)


@torch.library.custom_op("flowdeblur::warp_backward", mutates_args=())
def warp_backward_op(image: Tensor, flow: Tensor, grad: Tensor, need_image: bool) -> list[Tensor]:
    """The inputs and dL/dwarped -> [dL/dflow] or, with ``need_image``, [dL/dimage, dL/dflow], in the inputs'
    dtypes."""
    state = torch.promote_types(flow.dtype, torch.float32)
    grad_image, grad_flow = triton_kernels.require(KERNELS).backward(image, flow.to(state), grad, need_image)
    grads = [grad_flow.to(flow.dtype)]
    return [grad_image.to(image.dtype), *grads] if grad_image is not None else grads


@warp_backward_op.register_fake
def _(image: Tensor, flow: Tensor, grad: Tensor, need_image: bool) -> list[Tensor]:
    grad_flow = flow.new_empty(flow.shape)
    return [image.new_empty(image.shape), grad_flow] if need_image else [grad_flow]


def _setup_context(ctx: Any, inputs: tuple[Tensor, Tensor], output: tuple[Tensor, Tensor]) -> None:
    ctx.save_for_backward(*inputs)
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)  # no zero-filled gradient for the valid mask (nor an unused warped image)


def _backward(ctx: Any, grad: Tensor | None, _grad_valid: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
    image, flow = ctx.saved_tensors
    need_image, need_flow = ctx.needs_input_grad
    if grad is None or not (need_image or need_flow):
        return None, None
    grads = warp_backward_op(image, flow, grad, need_image)
    return (grads[0] if need_image else None), (grads[-1] if need_flow else None)


warp_op.register_autograd(_backward, setup_context=_setup_context)


def warp(image: Tensor, flow: Tensor, padding_mode: str = "zeros", impl: str = "fast") -> tuple[Tensor, Tensor]:
    """Backward-warp ``image`` with ``flow``: ``out(p) = image(p + flow(p))`` (bilinear), in float32.

    Args:
        image: (B, C, H, W), any float dtype; or (B / N, N, C, H, W), N images per sample (a window's neighbours,
            read where they lie by the fused op; flattened to (B, C, H, W) elsewhere).
        flow: (B, 2, H, W) in pixels, channel order (dx, dy), any float dtype.
        padding_mode: ``grid_sample`` padding for samples that fall outside the frame (the fused op: zeros only).
        impl: ``fast`` (the fused op on CUDA, else ``grid_sample``), ``triton`` or ``torch``
            (:func:`backend`).

    Returns:
        warped (B, C, H, W) float32 and valid (B, 1, H, W) float32 in {0, 1}: 1 where ``p + flow(p)`` lies inside
        the frame.
    """
    if image.shape[:-3].numel() != flow.shape[0] or image.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"warp: expected an image per flow, got {tuple(image.shape)} and {tuple(flow.shape)}")
    if padding_mode == "zeros" and backend(flow, impl) == "triton":
        with torch.autocast(image.device.type, enabled=False):
            return warp_op(image, flow.float())
    h, w = image.shape[-2:]
    warped, x, y = _sample(image, flow, padding_mode)
    with torch.autocast(image.device.type, enabled=False):
        valid = ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).unsqueeze(1).float()
    return warped, valid


def warp_image(image: Tensor, flow: Tensor, padding_mode: str = "zeros", impl: str = "fast") -> Tensor:
    """:func:`warp` without the valid mask: (B, C, H, W) or (B / N, N, C, H, W), flow (B, 2, H, W) -> warped
    (B, C, H, W) float32."""
    if padding_mode == "zeros" and backend(flow, impl) == "triton":
        return warp(image, flow, padding_mode, impl)[0]
    return _sample(image, flow, padding_mode)[0]


def _sample(image: Tensor, flow: Tensor, padding_mode: str) -> tuple[Tensor, Tensor, Tensor]:
    """image (B, C, H, W) or (B / N, N, C, H, W) -> the warped image (B, C, H, W) and the sampling positions x, y
    (B, H, W) in pixels, all float32."""
    image = image.flatten(0, 1) if image.dim() == 5 else image
    h, w = image.shape[-2:]
    with torch.autocast(image.device.type, enabled=False):
        flow = flow.float()
        ys, xs = torch.meshgrid(
            torch.arange(h, device=image.device, dtype=torch.float32),
            torch.arange(w, device=image.device, dtype=torch.float32),
            indexing="ij",
        )
        x = xs + flow[:, 0]
        y = ys + flow[:, 1]
        grid = torch.stack((2.0 * x / max(w - 1, 1) - 1.0, 2.0 * y / max(h - 1, 1) - 1.0), dim=-1)
        warped = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)
    return warped, x, y


def upsample_flow(flow: Tensor, factor: int) -> Tensor:
    """(B, N, 2, h, w) flow in pixels of its level -> (B, N, 2, h*factor, w*factor) float32 in pixels of the finer
    level (bilinear, computed in float32 whatever the autocast)."""
    b, n, _, h, w = flow.shape
    with torch.autocast(flow.device.type, enabled=False):
        up = F.interpolate(
            flow.float().reshape(b * n, 2, h, w), scale_factor=factor, mode="bilinear", align_corners=False
        )
    return (up * factor).reshape(b, n, 2, h * factor, w * factor)
