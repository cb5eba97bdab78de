"""All convolution weights cast to the autocast dtype together, once per forward.

Under bf16 autocast every convolution casts its weight and bias to bf16 when it runs, and autograd casts their
gradients back to float32: four small kernels per convolution and step, about 200 of a training step's ~940 for
the default network. The training forward casts them together instead and hands the convolutions the bf16
copies through :func:`torch.func.functional_call`. Two ways, with the same values (the round-to-nearest cast of
the same float32 weights, and the float32 cast of the same bf16 gradients), so the training step computes what
it computed under plain autocast; a weight that a forward does not use keeps no gradient, as under autocast:

- :class:`WeightCasts` (one process): one ``_foreach_copy_`` into bf16 copies kept from step to step, and one
  into float32 gradients kept likewise, which become the parameters' ``.grad`` (or are added to the ``.grad``
  already there). No tensor is made per weight and step: two ops in all, where autograd's accumulation alone
  dispatches one per weight. Gradients reach ``.grad`` before autograd's accumulation: a gradient hook on such a
  parameter (``register_hook``) sees none, a post-accumulate-grad hook sees ``.grad`` set;
- :func:`cast_conv_weights` (under a process group, so that DDP's reducer sees each gradient as autograd hands
  it): one flat cast copy each way, whose views autograd passes and accumulates as usual.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

CAST_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


class WeightCasts:
    """The bf16 copies and float32 gradients of a network's :func:`castable_weights`, kept across steps.

    :meth:`cast` returns name -> copy for :func:`torch.func.functional_call`; the copies' backward writes the
    gradients into the parameters' ``.grad``. The buffers follow the parameters (rebuilt when one is replaced,
    moved or changes layout). A second forward before the first one's backward (whose saved copies must not
    change) casts into new copies.
    """

    def __init__(self) -> None:
        self.params: list[nn.Parameter] = []
        self.copies: list[Tensor] = []
        self.grads: list[Tensor] = []
        self.pending = False

    def cast(self, net: nn.Module, dtype: torch.dtype) -> dict[str, Tensor]:
        """Name -> ``dtype`` copy of each castable weight (a parameter under two names: the same copy)."""
        named = castable_weights(net)
        params = list({id(p): p for p in named.values()}.values())
        if not params:
            return {}
        if not self._follows(params, dtype):
            self._build(params, dtype)
        reuse = not self.pending
        copies = self.copies if reuse else [torch.empty_like(c) for c in self.copies]
        self.pending = True
        cast = _CastInto.apply(self, copies, reuse, *params)
        by_id = {id(p): c for p, c in zip(params, cast, strict=True)}
        return {name: by_id[id(p)] for name, p in named.items()}

    def release(self) -> None:
        """Mark the kept copies free (the previous forward's graph is gone): the next forward casts into them."""
        self.pending = False

    def _follows(self, params: list[nn.Parameter], dtype: torch.dtype) -> bool:
        return len(params) == len(self.params) and all(
            p is q and c.dtype == dtype and c.device == p.device and c.shape == p.shape and c.stride() == p.stride()
            for p, q, c in zip(params, self.params, self.copies, strict=True)
        )

    def _build(self, params: list[nn.Parameter], dtype: torch.dtype) -> None:
        self.params = params
        self.copies = [torch.empty_like(p, dtype=dtype) for p in params]
        self.grads = [torch.empty_like(p) for p in params]
        self.pending = False


class _CastInto(torch.autograd.Function):
    """(casts, copies, reused, *float32 parameters) -> the copies, filled with the parameters' values in one
    op; backward puts the copies' gradients in float32 into the parameters' ``.grad`` (into the gradient tensors
    kept when this forward ran, should the casts be rebuilt in between) and returns none."""

    @staticmethod
    def forward(
        ctx: Any, casts: WeightCasts, copies: list[Tensor], reused: bool, *params: Tensor
    ) -> tuple[Tensor, ...]:
        ctx.set_materialize_grads(False)
        ctx.casts, ctx.reused, ctx.params, ctx.grads = casts, reused, params, casts.grads
        torch._foreach_copy_(copies, list(params))
        return tuple(copies)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor | None) -> tuple[None, ...]:
        params = ctx.params
        if ctx.reused:
            ctx.casts.pending = False
        present: dict[int, Tensor] = {i: grad for i, grad in enumerate(grads) if grad is not None}
        fresh = [i for i in present if params[i].grad is None]
        held = [i for i in present if params[i].grad is not None]
        if fresh:
            targets = [ctx.grads[i] for i in fresh]
            torch._foreach_copy_(targets, [present[i] for i in fresh])
            for i, target in zip(fresh, targets, strict=True):
                params[i].grad = target
        if held:
            torch._foreach_add_([params[i].grad for i in held], [present[i] for i in held])
        return (None,) * (3 + len(params))


def gradient_hooks_needed() -> bool:
    """Whether gradients must pass through autograd's accumulation (a process group is up: DDP's hooks)."""
    return dist.is_available() and dist.is_initialized()


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
