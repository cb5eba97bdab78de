"""The four-direction gated scan as PyTorch custom ops (``torch.library``): ``torch.compile`` sees one node for
the forward (``flowdeblur::gated_scan_4``) and one for the backward (``flowdeblur::gated_scan_4_backward``).

Which kernel runs (:func:`backend`):
- CUDA tensors: the Triton kernels of :mod:`flowdeblur.ops.scan_triton` (one launch forward, one backward plus a
  sum over the four directions' ``dL/dx``); without Triton installed, the chunked PyTorch scan.
- CPU tensors: the compiled C++ kernel of :mod:`flowdeblur.ops.scan_native` where it builds, else the chunked scan.
- Any other device: the chunked scan (:mod:`flowdeblur.ops.scan_chunked`).
- ``impl="triton"`` forces the Triton kernels on any device: on CUDA, or on CPU tensors under Triton's
  interpreter (``TRITON_INTERPRET=1`` set before Triton is imported), which is how the tests check them.

Dtypes and layouts, the same for every kernel (the fake implementations promise exactly this to the compiler):
the output is in the state's dtype, ``promote(x, gates, float32)`` (bf16 inputs are read as they are by the
Triton kernels and promoted on the way in by the others); the gradients come in the dtypes of ``x`` and
``gates``. Channels-last gates (that are not also contiguous) make every output and gradient channels-last,
anything else makes them contiguous (N, C, H, W); inputs in another layout are copied into that one first.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from flowdeblur.ops import scan_chunked, scan_native, triton_kernels
from flowdeblur.ops.scan_chunked import DIRECTIONS

BACKENDS = ("triton", "native", "chunked")
KERNELS = "scan_triton"  # the module of the Triton kernels


def backend(device: torch.device, impl: str = "fast") -> str:
    """The kernel (:data:`BACKENDS`) that runs the scan of tensors on ``device`` for ``impl`` (fast or triton)."""
    if impl == "triton" or (device.type == "cuda" and triton_kernels.load(KERNELS) is not None):
        return "triton"
    if device.type == "cpu" and scan_native.load() is not None:
        return "native"
    return "chunked"


def channels_last(gates: Tensor) -> bool:
    """The layout rule: channels-last gates that are not also contiguous select channels-last everywhere."""
    return gates.is_contiguous(memory_format=torch.channels_last) and not gates.is_contiguous()


def state_dtype(x: Tensor, gates: Tensor) -> torch.dtype:
    """The dtype of the state and the output: the inputs' common dtype, float32 at least."""
    return torch.promote_types(torch.promote_types(x.dtype, gates.dtype), torch.float32)


def _layout(gates: Tensor) -> torch.memory_format:
    return torch.channels_last if channels_last(gates) else torch.contiguous_format


def _as(t: Tensor, dtype: torch.dtype, layout: torch.memory_format) -> Tensor:
    """t in ``dtype`` and dense in ``layout`` (itself if it already is)."""
    return t.to(dtype).contiguous(memory_format=layout)


@torch.library.custom_op("flowdeblur::gated_scan_4", mutates_args=())
def gated_scan_4_op(x: Tensor, gates: Tensor, impl: str) -> Tensor:
    """x (B, C, H, W), gates (B, 4C, H, W) -> (B, 4C, H, W) in :func:`state_dtype`, one C-block per direction."""
    layout, dtype, kernel = _layout(gates), state_dtype(x, gates), backend(x.device, impl)
    if kernel == "triton":
        x, gates = x.contiguous(memory_format=layout), gates.contiguous(memory_format=layout)
        out = torch.empty(gates.shape, dtype=dtype, device=x.device, memory_format=layout)
        return triton_kernels.require(KERNELS).forward(x, gates, out, layout == torch.channels_last)
    x, gates = _as(x, dtype, layout), _as(gates, dtype, layout)
    if kernel == "native":
        compiled = scan_native.require()
        return (compiled.forward_nhwc if layout == torch.channels_last else compiled.forward)(x, gates)
    return scan_chunked.forward(x, gates, DIRECTIONS).contiguous(memory_format=layout)


@gated_scan_4_op.register_fake
def _(x: Tensor, gates: Tensor, impl: str) -> Tensor:
    return torch.empty(gates.shape, dtype=state_dtype(x, gates), device=x.device, memory_format=_layout(gates))


@torch.library.custom_op("flowdeblur::gated_scan_4_backward", mutates_args=())
def gated_scan_4_backward_op(x: Tensor, gates: Tensor, out: Tensor, grad_out: Tensor, impl: str) -> list[Tensor]:
    """The forward's inputs and output and dL/dout -> [dL/dx, dL/dgates] in the dtypes of x and gates."""
    layout, kernel = _layout(gates), backend(x.device, impl)
    dtypes = (x.dtype, gates.dtype)
    out, grad_out = out.contiguous(memory_format=layout), _as(grad_out, out.dtype, layout)
    if kernel == "triton":
        x, gates = x.contiguous(memory_format=layout), gates.contiguous(memory_format=layout)
        grad_x4, grad_gates = triton_kernels.require(KERNELS).backward(
            x, gates, out, grad_out, layout == torch.channels_last
        )
        grad_x = grad_x4.sum(1)
    else:
        x, gates = _as(x, out.dtype, layout), _as(gates, out.dtype, layout)
        if kernel == "native":
            compiled = scan_native.require()
            nhwc = layout == torch.channels_last
            grad_x, grad_gates = (compiled.backward_nhwc if nhwc else compiled.backward)(x, gates, out, grad_out)
        else:
            grad_x, grad_gates = scan_chunked.backward(x, gates, out, grad_out, DIRECTIONS)
    return [_as(grad, dtype, layout) for grad, dtype in zip((grad_x, grad_gates), dtypes, strict=True)]


@gated_scan_4_backward_op.register_fake
def _(x: Tensor, gates: Tensor, out: Tensor, grad_out: Tensor, impl: str) -> list[Tensor]:
    layout = _layout(gates)
    return [torch.empty(t.shape, dtype=t.dtype, device=t.device, memory_format=layout) for t in (x, gates)]


def _setup_context(ctx: Any, inputs: tuple[Tensor, Tensor, str], output: Tensor) -> None:
    x, gates, impl = inputs
    ctx.save_for_backward(x, gates, output)
    ctx.impl = impl


def _backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor, Tensor, None]:
    x, gates, out = ctx.saved_tensors
    grad_x, grad_gates = gated_scan_4_backward_op(x, gates, out, grad_out, ctx.impl)
    return grad_x, grad_gates, None


gated_scan_4_op.register_autograd(_backward, setup_context=_setup_context)
