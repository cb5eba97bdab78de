"""The soft census distance as one custom op (``flowdeblur::census_distance`` and its backward) for CUDA tensors.

The photometric loss (:mod:`flowdeblur.losses.census`) compares every warped neighbour with the target through
(2r+1)² soft signs per pixel. In PyTorch that is a dozen kernels per level forward and as many backward, over
(B, (2r+1)², H·W) patch tensors; on CUDA the Triton kernels of :mod:`flowdeblur.ops.census_triton` compute it per
pixel from the RGB images: one launch forward, three backward, nothing materialised. Elsewhere (the CPU, no
Triton) the PyTorch version runs, and it is the reference the kernels are tested against.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from flowdeblur.ops import triton_kernels

KERNELS = "census_triton"  # the module of the Triton kernels


def backend(image: Tensor, impl: str = "fast") -> str:
    """``triton`` or ``torch`` (:func:`flowdeblur.ops.triton_kernels.fused_or_torch`)."""
    return triton_kernels.fused_or_torch(image, impl, KERNELS, "census")


def _state_dtype(a: Tensor, b: Tensor) -> torch.dtype:
    return torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)


@torch.library.custom_op("flowdeblur::census_distance", mutates_args=())
def census_distance_op(a: Tensor, b: Tensor, radius: int) -> Tensor:
    """a (B / R, 3, H, W), b (B, 3, H, W) RGB -> (B, 1, H, W) soft census distance of b[i] to a[i // R] (float32
    at least), by the Triton kernel."""
    if b.shape[0] % a.shape[0] or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"census distance: expected b's images to repeat a's, got {tuple(a.shape)}, {tuple(b.shape)}")
    dtype = _state_dtype(a, b)
    return triton_kernels.require(KERNELS).forward(a.to(dtype), b.to(dtype), radius)


@census_distance_op.register_fake
def _(a: Tensor, b: Tensor, radius: int) -> Tensor:
    return a.new_empty(b.shape[0], 1, *b.shape[2:], dtype=_state_dtype(a, b))


@torch.library.custom_op("flowdeblur::census_distance_backward", mutates_args=())
def census_distance_backward_op(a: Tensor, b: Tensor, grad: Tensor, radius: int, need_a: bool) -> list[Tensor]:
    """The inputs and dL/ddist -> [dL/db] or, with ``need_a``, [dL/da, dL/db], in the inputs' dtypes."""
    dtype = _state_dtype(a, b)
    grad_a, grad_b = triton_kernels.require(KERNELS).backward(a.to(dtype), b.to(dtype), grad.to(dtype), radius, need_a)
    grads = [grad_b.to(b.dtype)]
    return [grad_a.to(a.dtype), *grads] if grad_a is not None else grads


@census_distance_backward_op.register_fake
def _(a: Tensor, b: Tensor, grad: Tensor, radius: int, need_a: bool) -> list[Tensor]:
    return [torch.empty_like(a), torch.empty_like(b)] if need_a else [torch.empty_like(b)]


def _setup_context(ctx: Any, inputs: tuple[Tensor, Tensor, int], output: Tensor) -> None:
    a, b, radius = inputs
    ctx.save_for_backward(a, b)
    ctx.radius = radius


def _backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
    a, b = ctx.saved_tensors
    need_a, need_b = ctx.needs_input_grad[:2]
    if not (need_a or need_b):
        return None, None, None
    grads = census_distance_backward_op(a, b, grad, ctx.radius, need_a)
    return (grads[0] if need_a else None), (grads[-1] if need_b else None), None


census_distance_op.register_autograd(_backward, setup_context=_setup_context)
