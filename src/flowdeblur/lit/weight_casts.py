"""All convolution weights cast to the autocast dtype together, once per forward.

Under bf16 autocast every convolution casts its weight and bias to bf16 when it runs, and autograd casts their
gradients back to float32: four small kernels per convolution and step, about 200 of a training step's ~940 for
the default network. :func:`cast_conv_weights` casts them as one flat tensor instead (two kernels forward, two
backward) and hands the convolutions bf16 views of it, through :func:`torch.func.functional_call`. The values
are those autocast computes (the same round-to-nearest cast of the same float32 weights, and the float32 cast of
the same bf16 gradients), so the training step computes what it computed before; a weight that a forward does
not use keeps no gradient, as under autocast.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

CAST_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


class _CastTogether(torch.autograd.Function):
    """(dtype, *dense float32 tensors) -> the tensors in ``dtype``, each with its own strides: views of one
    flat cast copy. Each tensor enters and leaves the flat copy in its memory order (one view each way)."""

    @staticmethod
    def forward(ctx: Any, dtype: torch.dtype, *tensors: Tensor) -> tuple[Tensor, ...]:
        ctx.set_materialize_grads(False)
        ctx.layouts = [(t.shape, t.stride()) for t in tensors]
        ctx.dtype = tensors[0].dtype
        flat = torch.cat([_flat(t) for t in tensors]).to(dtype)
        return _unflat(flat, ctx.layouts)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
        present = [i for i, grad in enumerate(grads) if grad is not None]
        out: list[Tensor | None] = [None] * len(grads)
        if present:
            layouts = [ctx.layouts[i] for i in present]
            flat = torch.cat([_flat(_with_layout(grads[i], *ctx.layouts[i])) for i in present])  # type: ignore[arg-type]
            for i, grad in zip(present, _unflat(flat.to(ctx.dtype), layouts), strict=True):
                out[i] = grad
        return (None, *out)


Layout = tuple[torch.Size, tuple[int, ...]]


def _dense(t: Tensor) -> bool:
    """Whether ``t``'s elements fill its memory without gaps or overlaps, in some order of its dims."""
    if t.is_contiguous() or (t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)):
        return True
    expected = 1
    for size, stride in sorted(zip(t.shape, t.stride(), strict=True), key=lambda pair: pair[1]):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _flat(t: Tensor) -> Tensor:
    """A dense tensor's elements in memory order, 1-D (a view)."""
    return t.as_strided((t.numel(),), (1,), t.storage_offset())


def _with_layout(t: Tensor, shape: torch.Size, stride: tuple[int, ...]) -> Tensor:
    """``t`` itself where it has ``stride``, else a copy that has it."""
    if t.stride() == stride:
        return t
    return torch.empty_strided(shape, stride, dtype=t.dtype, device=t.device).copy_(t)


def _unflat(flat: Tensor, layouts: list[Layout]) -> tuple[Tensor, ...]:
    """Views of consecutive pieces of ``flat`` with the given (shape, strides), one per layout."""
    views, offset = [], flat.storage_offset()
    for shape, stride in layouts:
        views.append(flat.as_strided(shape, stride, offset))
        offset += shape.numel()
    return tuple(views)


def castable_weights(net: nn.Module) -> dict[str, nn.Parameter]:
    """The float32 parameters that autocast would cast for a lower-precision op: weights and biases of
    convolutions and linear layers, by name; their cast copies keep their memory layout (channels-last
    included)."""
    weights = {}
    for module_name, module in net.named_modules():
        if not isinstance(module, CAST_MODULES):
            continue
        for name, param in module.named_parameters(prefix=module_name, recurse=False):
            if param.dtype == torch.float32 and _dense(param):
                weights[name] = param
    return weights


def cast_conv_weights(net: nn.Module, dtype: torch.dtype) -> dict[str, Tensor]:
    """Name -> ``dtype`` copy of :func:`castable_weights`, differentiable, from one cast; ``{}`` if none."""
    weights = castable_weights(net)
    if not weights:
        return {}
    cast = _CastTogether.apply(dtype, *weights.values())
    return dict(zip(weights, cast, strict=True))


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The lower-precision dtype of the autocast active on ``device_type``, or None where it is off."""
    if not torch.is_autocast_enabled(device_type):
        return None
    dtype = torch.get_autocast_dtype(device_type)
    return dtype if dtype in (torch.bfloat16, torch.float16) else None
