"""The edge-aware flow smoothness of one level as one custom op (``flowdeblur::flow_smoothness`` and its backward)
for CUDA tensors.

In PyTorch the smoothness term of all levels costs ~70 kernels per training step (concatenations, slices,
differences, their backwards); on CUDA the Triton kernels of :mod:`flowdeblur.ops.smoothness_triton` compute a
level in one launch forward (after a fill) and one backward. Elsewhere (the CPU, no Triton) the PyTorch version
of :func:`flowdeblur.losses.warping.smoothness_losses` runs; it is the reference the kernels are tested against.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from flowdeblur.ops import triton_kernels

KERNELS = "smoothness_triton"  # the module of the Triton kernels


def backend(flow: Tensor, impl: str = "fast") -> str:
    """``triton`` or ``torch`` (:func:`flowdeblur.ops.triton_kernels.fused_or_torch`)."""
    return triton_kernels.fused_or_torch(flow, impl, KERNELS, "flow smoothness")


def _state_dtype(flow: Tensor) -> torch.dtype:
    return torch.promote_types(flow.dtype, torch.float32)


@torch.library.custom_op("flowdeblur::flow_smoothness", mutates_args=())
def flow_smoothness_op(flow: Tensor, image: Tensor, alpha: float) -> Tensor:
    """flow (B, C, H, W), image (B / R, 3, H, W) (flow i's edges from image i // R), H and W at least 2 -> 0-d
    edge-aware smoothness (float32 at least) by the Triton kernel; the image gets no gradient."""
    if min(flow.shape[-2:]) < 2:
        raise ValueError(f"flow smoothness: expected a flow of at least 2×2 pixels, got {tuple(flow.shape)}")
    if flow.shape[0] % image.shape[0] or flow.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"flow smoothness: expected images for the flows, got {tuple(flow.shape)}, {tuple(image.shape)}"
        )
    dtype = _state_dtype(flow)
    return triton_kernels.require(KERNELS).forward(flow.to(dtype), image.to(dtype), alpha)


@flow_smoothness_op.register_fake
def _(flow: Tensor, image: Tensor, alpha: float) -> Tensor:
    return flow.new_empty((), dtype=_state_dtype(flow))


@torch.library.custom_op("flowdeblur::flow_smoothness_backward", mutates_args=())
def flow_smoothness_backward_op(flow: Tensor, image: Tensor, grad: Tensor, alpha: float) -> Tensor:
    """The inputs and the 0-d dL/dloss -> dL/dflow in the flow's dtype and layout."""
    dtype = _state_dtype(flow)
    grad_flow = triton_kernels.require(KERNELS).backward(flow.to(dtype), image.to(dtype), grad.to(dtype), alpha)
    return grad_flow.to(flow.dtype)


@flow_smoothness_backward_op.register_fake
def _(flow: Tensor, image: Tensor, grad: Tensor, alpha: float) -> Tensor:
    return torch.empty_like(flow)


def _setup_context(ctx: Any, inputs: tuple[Tensor, Tensor, float], output: Tensor) -> None:
    flow, image, alpha = inputs
    ctx.save_for_backward(flow, image)
    ctx.alpha = alpha


def _backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None]:
    flow, image = ctx.saved_tensors
    if ctx.needs_input_grad[1]:
        raise RuntimeError("flow smoothness: the fused op gives no gradient to the image")
    return (flow_smoothness_backward_op(flow, image, grad, ctx.alpha) if ctx.needs_input_grad[0] else None), None, None


flow_smoothness_op.register_autograd(_backward, setup_context=_setup_context)
