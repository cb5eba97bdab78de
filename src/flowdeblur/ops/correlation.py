"""Local correlation (cost volume) between two feature maps.

``out[:, k](p) = mean_c f1(p) · f2(p + d_k)`` for every displacement ``d_k = (dx, dy)`` with
``|dx|, |dy| <= r``, ordered row-major over (dy, dx): ``k = (dy + r) * (2r + 1) + (dx + r)``. Samples outside
``f2`` count as zero.

On the CPU in float32 the fast version is the compiled kernel of ``csrc/correlation.cpp``
(:mod:`flowdeblur.ops.native`): one pass over channels-last pixels, each pixel's (2r+1)² dot products from cache
(forward 9x, backward 2.4x faster than shifted products at half of 720p, C = 32, r = 3, two threads: a shifted
product moves the whole feature map three times per shift). Elsewhere, or without a compiler, it loops over the
(2r+1)² shifts with an explicit backward that accumulates in place; letting autograd differentiate the shifted
slices instead allocates a full padded gradient per shift. On CUDA the Triton kernels of
:mod:`flowdeblur.ops.correlation_triton` run instead (one launch forward, one backward). All of them run inside
one custom op (``flowdeblur::local_correlation`` and its backward): ``torch.compile`` sees one node. ``unfold`` is the
reference: simple, but (2r+1)² times the memory of ``f2``.

:func:`cosine_correlation` is the cost volume the flow networks use: the same products on features
centred and scaled per pixel. Raw products of freshly initialised LeakyReLU features are dominated
by their common positive part, so they peak at zero displacement whatever the motion and a flow estimator
trained on them does not leave zero flow in hundreds of steps; the cosine peaks at the true displacement from
the start.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.ops import native, triton_kernels

PARTS = ("correlation.cpp",)
IMPLS = ("fast", "triton", "shifted")
BACKENDS = ("native", "triton", "shifted")
KERNELS = "correlation_triton"  # the module of the Triton kernels


def kernel() -> ModuleType | None:
    """The compiled CPU kernel, or None (no compiler, or ``FLOWDEBLUR_NATIVE=0``)."""
    return native.build("flowdeblur_correlation", PARTS) if native.enabled() else None


def backend(f1: Tensor, f2: Tensor, impl: str = "fast") -> str:
    """The kernel (:data:`BACKENDS`) that correlates ``f1`` and ``f2``: for ``fast``, ``native`` (the compiled
    kernel: float32 on the CPU, where it builds), ``triton`` (CUDA tensors, where Triton is installed) or
    ``shifted`` (shifted products, any device and dtype); ``triton`` and ``shifted`` force that kernel."""
    if impl != "fast":
        return impl
    dtype = torch.promote_types(f1.dtype, f2.dtype)
    if dtype == torch.float32 and f1.device.type == "cpu" and kernel() is not None:
        return "native"
    return "triton" if f1.device.type == "cuda" and triton_kernels.load(KERNELS) is not None else "shifted"


def _layout(f1: Tensor, f2: Tensor, impl: str) -> torch.memory_format:
    """The op's output (and, but for the Triton kernels, which keep the inputs' layout, its gradients):
    channels-last from the compiled kernel, contiguous from the others."""
    return torch.channels_last if backend(f1, f2, impl) == "native" else torch.contiguous_format


@torch.library.custom_op("flowdeblur::local_correlation", mutates_args=())
def local_correlation_op(f1: Tensor, f2: Tensor, radius: int, impl: str, dtype: torch.dtype) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W) in ``dtype`` (one node under ``torch.compile``), summed in the
    inputs' common dtype (float32 at least on CUDA)."""
    common, chosen = torch.promote_types(f1.dtype, f2.dtype), backend(f1, f2, impl)
    if chosen == "triton":  # the kernels read any layout through its strides
        state = torch.promote_types(common, torch.float32)
        return triton_kernels.require(KERNELS).forward(f1.to(state), f2.to(state), radius, dtype)
    if chosen == "native":
        compiled = kernel()
        assert compiled is not None  # only chosen where the kernel was built
        inputs = (f.to(common).contiguous(memory_format=torch.channels_last) for f in (f1, f2))
        return compiled.forward(*inputs, radius).to(dtype)
    return shifted_forward(f1.to(common), f2.to(common), radius).to(dtype)


@local_correlation_op.register_fake
def _(f1: Tensor, f2: Tensor, radius: int, impl: str, dtype: torch.dtype) -> Tensor:
    b, _, h, w = f1.shape
    size = (2 * radius + 1) ** 2
    return torch.empty(b, size, h, w, dtype=dtype, device=f1.device, memory_format=_layout(f1, f2, impl))


@torch.library.custom_op("flowdeblur::local_correlation_backward", mutates_args=())
def local_correlation_backward_op(f1: Tensor, f2: Tensor, grad: Tensor, radius: int, impl: str) -> list[Tensor]:
    """The inputs and dL/dout (any float dtype) -> [dL/df1, dL/df2] in the inputs' dtypes."""
    dtype, layout, chosen = torch.promote_types(f1.dtype, f2.dtype), _layout(f1, f2, impl), backend(f1, f2, impl)
    if chosen == "triton":  # the kernel reads every input through its strides; gradients laid out as the inputs
        state = torch.promote_types(dtype, torch.float32)
        grads = triton_kernels.require(KERNELS).backward(f1.to(state), f2.to(state), grad, radius)
        return [g.to(f.dtype) for g, f in zip(grads, (f1, f2), strict=True)]
    a, b, grad = (t.to(dtype).contiguous(memory_format=layout) for t in (f1, f2, grad))
    if chosen == "native":
        compiled = kernel()
        assert compiled is not None
        grads = compiled.backward(a, b, grad, radius)
    else:
        grads = shifted_backward(a, b, grad, radius)
    return [g.to(f.dtype).contiguous(memory_format=layout) for g, f in zip(grads, (f1, f2), strict=True)]


@local_correlation_backward_op.register_fake
def _(f1: Tensor, f2: Tensor, grad: Tensor, radius: int, impl: str) -> list[Tensor]:
    if backend(f1, f2, impl) == "triton":
        return [torch.empty_like(f) for f in (f1, f2)]
    layout = _layout(f1, f2, impl)
    return [torch.empty(f.shape, dtype=f.dtype, device=f.device, memory_format=layout) for f in (f1, f2)]


def _setup_context(ctx: Any, inputs: tuple[Tensor, Tensor, int, str, torch.dtype], output: Tensor) -> None:
    f1, f2, radius, impl, _ = inputs
    ctx.save_for_backward(f1, f2)
    ctx.radius, ctx.impl = radius, impl


def _backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None, None, None]:
    f1, f2 = ctx.saved_tensors
    grad_f1, grad_f2 = local_correlation_backward_op(f1, f2, grad, ctx.radius, ctx.impl)
    return grad_f1, grad_f2, None, None, None


local_correlation_op.register_autograd(_backward, setup_context=_setup_context)


def shifted_forward(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W) by shifted products, one per displacement."""
    h, w = f1.shape[-2:]
    size = 2 * radius + 1
    padded = F.pad(f2, [radius] * 4)
    out = f1.new_empty(f1.shape[0], size * size, h, w)
    for k in range(size * size):
        dy, dx = divmod(k, size)
        torch.linalg.vecdot(f1, padded[..., dy : dy + h, dx : dx + w], dim=1, out=out[:, k])
    return out.div_(f1.shape[1])


def shifted_backward(f1: Tensor, f2: Tensor, grad: Tensor, radius: int) -> tuple[Tensor, Tensor]:
    """The gradients of :func:`shifted_forward`, accumulated in place shift by shift."""
    h, w = f1.shape[-2:]
    size = 2 * radius + 1
    padded = F.pad(f2, [radius] * 4)
    grad = grad / f1.shape[1]
    grad_f1 = torch.zeros_like(f1)
    grad_padded = torch.zeros_like(padded)
    for k in range(size * size):
        dy, dx = divmod(k, size)
        g = grad[:, k : k + 1]
        grad_f1.addcmul_(g, padded[..., dy : dy + h, dx : dx + w])
        grad_padded[..., dy : dy + h, dx : dx + w].addcmul_(g, f1)
    return grad_f1, grad_padded[..., radius : radius + h, radius : radius + w]


def local_correlation(
    f1: Tensor, f2: Tensor, radius: int, impl: str = "fast", dtype: torch.dtype | None = None
) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W) in ``dtype`` (default: the inputs' common dtype): one custom op,
    the compiled kernel for float32 on the CPU, the Triton kernels on CUDA, else shifted products (first-order
    gradients only). ``impl`` (:data:`IMPLS`): ``fast`` chooses by device; ``triton`` (CUDA, or the CPU under
    ``TRITON_INTERPRET=1``) and ``shifted`` force a kernel."""
    if impl not in IMPLS:
        raise ValueError(f"local_correlation: impl must be one of {IMPLS}, got '{impl}'")
    if impl == "triton" and f1.device.type != "cuda" and not triton_kernels.interpreted():
        raise ValueError("local_correlation: impl 'triton' runs on CUDA tensors (on the CPU with TRITON_INTERPRET=1)")
    return local_correlation_op(f1, f2, radius, impl, dtype or torch.promote_types(f1.dtype, f2.dtype))


def local_correlation_reference(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W), by ``unfold`` (reference version)."""
    b, c, h, w = f1.shape
    size = 2 * radius + 1
    patches = F.unfold(f2, size, padding=radius).view(b, c, size * size, h, w)
    return (f1.unsqueeze(2) * patches).mean(1)


def standardised(features: Tensor, eps: float = 1e-12) -> Tensor:
    """(B, C, H, W) -> (B, C, H, W) float32: each pixel's channel vector minus its mean, divided by its standard
    deviation (one fused layer norm over the channels, no affine; channels-last memory in, channels-last out)."""
    pixels = features.float().permute(0, 2, 3, 1)
    return F.layer_norm(pixels, pixels.shape[-1:], eps=eps).permute(0, 3, 1, 2)


def cosine_correlation(
    f1: Tensor, f2: Tensor, radius: int, impl: str = "fast", dtype: torch.dtype = torch.float32
) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W) in [-1, 1]: cosine similarity of the centred features of
    ``f1(p)`` and ``f2(p + d_k)`` (0 outside ``f2``), computed in float32 whatever the autocast and stored in
    ``dtype`` (the estimator's input dtype: no cast of the cost volume forward or backward).

    The channel mean of products of standardised vectors is their correlation coefficient, i.e. the cosine of
    the centred vectors: no further scaling pass. ``impl``: as for :func:`local_correlation`.
    """
    with torch.autocast(f1.device.type, enabled=False):
        return local_correlation(standardised(f1), standardised(f2), radius, impl, dtype)
