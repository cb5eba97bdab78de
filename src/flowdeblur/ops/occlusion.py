"""The photometric loss's masked means as one custom op (``flowdeblur::occlusion_means`` and its backward) for
CUDA tensors.

The warping loss averages each level's photometric error over the pixels it trusts: the warp's valid mask,
eroded by the census radius, without the pixels whose error lies above the per-sample occlusion quantile
(:func:`flowdeblur.losses.warping.masked_means`). In PyTorch that is ~45 kernels per training step forward and
backward (erosion, padding and stacking the levels, a sort and the quantile's interpolation, the masked sums);
on CUDA the Triton kernels of :mod:`flowdeblur.ops.occlusion_triton` take one launch per level forward
(erosion, threshold and sums per sample) and one more for the means, one per level backward. Elsewhere the
PyTorch version runs, and it is the reference the kernels are tested against.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from flowdeblur.ops import triton_kernels

KERNELS = "occlusion_triton"  # the module of the Triton kernels


def backend(error: Tensor, impl: str = "fast") -> str:
    """``triton`` or ``torch`` (:func:`flowdeblur.ops.triton_kernels.fused_or_torch`)."""
    return triton_kernels.fused_or_torch(error, impl, KERNELS, "occlusion means")


@torch.library.custom_op("flowdeblur::occlusion_means", mutates_args=())
def occlusion_means_op(
    errors: list[Tensor], valids: list[Tensor], quantile: Tensor, radius: int
) -> tuple[Tensor, Tensor, Tensor]:
    """errors, valids [(R, 1, H_l, W_l)], 0-d quantile, erosion radius -> means (L,) float32, and for the
    backward each pixel's weight (Σ R·H_l·W_l,) and the per-level sums (2, L), by the Triton kernels."""
    means, weights, totals = triton_kernels.require(KERNELS).forward(errors, valids, quantile, radius)
    return means, weights, totals


@occlusion_means_op.register_fake
def _(errors: list[Tensor], valids: list[Tensor], quantile: Tensor, radius: int) -> tuple[Tensor, Tensor, Tensor]:
    pixels = sum(error.numel() for error in errors)
    levels = len(errors)
    new = errors[0].new_empty
    return new(levels, dtype=torch.float32), new(pixels, dtype=torch.float32), new(2, levels, dtype=torch.float32)


@torch.library.custom_op("flowdeblur::occlusion_means_backward", mutates_args=())
def occlusion_means_backward_op(errors: list[Tensor], weights: Tensor, totals: Tensor, grad: Tensor) -> list[Tensor]:
    """The forward's errors, weights and sums and dL/dmeans (L,) -> [dL/derror] in the errors' dtypes."""
    grads = triton_kernels.require(KERNELS).backward(errors, weights, totals, grad)
    return [g.to(error.dtype) for g, error in zip(grads, errors, strict=True)]


@occlusion_means_backward_op.register_fake
def _(errors: list[Tensor], weights: Tensor, totals: Tensor, grad: Tensor) -> list[Tensor]:
    return [torch.empty(error.shape, dtype=error.dtype, device=error.device) for error in errors]


def _setup_context(ctx: Any, inputs: tuple[list[Tensor], list[Tensor], Tensor, int], output: tuple) -> None:
    errors = inputs[0]
    _, weights, totals = output
    ctx.save_for_backward(weights, totals, *errors)
    ctx.mark_non_differentiable(weights, totals)
    ctx.set_materialize_grads(False)


def _backward(ctx: Any, grad: Tensor | None, *_: Tensor | None) -> tuple[list[Tensor | None], list[None], None, None]:
    """Gradients to the errors only (a list, like the input; the valid masks and the quantile get none)."""
    weights, totals, *errors = ctx.saved_tensors
    needed = ctx.needs_input_grad[0]
    if grad is None or not any(needed):
        grads: list[Tensor | None] = [None] * len(errors)
    else:
        computed = occlusion_means_backward_op(errors, weights, totals, grad)
        grads = [g if need else None for g, need in zip(computed, needed, strict=True)]
    return grads, [None] * len(errors), None, None


occlusion_means_op.register_autograd(_backward, setup_context=_setup_context)


def occlusion_means(errors: list[Tensor], valids: list[Tensor], quantile: float | Tensor, radius: int) -> Tensor:
    """errors, valids [(R, 1, H_l, W_l)] -> (L,) float32: per level the mean error over the pixels of the valid
    mask eroded by ``radius`` whose error is at most the per-row ``quantile`` of those pixels' errors (0-d tensor
    or float), pooled over the rows; the fused op of :func:`flowdeblur.losses.warping.masked_means`."""
    if not isinstance(quantile, Tensor):
        quantile = torch.full((), float(quantile), device=errors[0].device)
    return occlusion_means_op(errors, valids, quantile, radius)[0]
