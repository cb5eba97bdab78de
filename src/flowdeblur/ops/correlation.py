"""Local correlation (cost volume) between two feature maps.

``out[:, k](p) = mean_c f1(p) · f2(p + d_k)`` for every displacement ``d_k = (dx, dy)`` with
``|dx|, |dy| <= r``, ordered row-major over (dy, dx): ``k = (dy + r) * (2r + 1) + (dx + r)``. Samples outside
``f2`` count as zero.

On the CPU in float32 the fast version is the compiled kernel of ``csrc/correlation.cpp``
(:mod:`flowdeblur.ops.native`): one pass over channels-last pixels, each pixel's (2r+1)² dot products from cache
(forward 9x, backward 2.4x faster than shifted products at half of 720p, C = 32, r = 3, two threads: a shifted
product moves the whole feature map three times per shift). Elsewhere, or without a compiler, it loops over the
(2r+1)² shifts with an explicit backward that accumulates in place; letting autograd differentiate the shifted
slices instead allocates a full padded gradient per shift. ``unfold`` is the reference: simple, but (2r+1)² times
the memory of ``f2``.

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
from torch.autograd.function import once_differentiable

from flowdeblur.ops import native

PARTS = ("correlation.cpp",)


def kernel() -> ModuleType | None:
    """The compiled CPU kernel, or None (no compiler, or ``FLOWDEBLUR_NATIVE=0``)."""
    return native.build("flowdeblur_correlation", PARTS) if native.enabled() else None


class _NativeCorrelation(torch.autograd.Function):
    """The compiled kernel on channels-last float32 CPU tensors (inputs are made channels-last)."""

    @staticmethod
    def forward(ctx: Any, f1: Tensor, f2: Tensor, radius: int) -> Tensor:
        compiled = kernel()
        assert compiled is not None  # only chosen where the kernel was built
        f1, f2 = (f.contiguous(memory_format=torch.channels_last) for f in (f1, f2))
        ctx.save_for_backward(f1, f2)
        ctx.radius = radius
        return compiled.forward(f1, f2, radius)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        compiled = kernel()
        assert compiled is not None
        f1, f2 = ctx.saved_tensors
        grad_f1, grad_f2 = compiled.backward(f1, f2, grad.contiguous(memory_format=torch.channels_last), ctx.radius)
        return grad_f1, grad_f2, None


class _ShiftedCorrelation(torch.autograd.Function):
    """Shifted-product correlation with a hand-written, in-place backward."""

    @staticmethod
    def forward(ctx: Any, f1: Tensor, f2: Tensor, radius: int) -> Tensor:
        h, w = f1.shape[-2:]
        size = 2 * radius + 1
        padded = F.pad(f2, [radius] * 4)
        out = f1.new_empty(f1.shape[0], size * size, h, w)
        for k in range(size * size):
            dy, dx = divmod(k, size)
            torch.linalg.vecdot(f1, padded[..., dy : dy + h, dx : dx + w], dim=1, out=out[:, k])
        ctx.save_for_backward(f1, padded)
        ctx.radius = radius
        return out.div_(f1.shape[1])

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        f1, padded = ctx.saved_tensors
        radius = ctx.radius
        h, w = f1.shape[-2:]
        size = 2 * radius + 1
        grad = grad / f1.shape[1]
        grad_f1 = torch.zeros_like(f1) if ctx.needs_input_grad[0] else None
        grad_padded = torch.zeros_like(padded) if ctx.needs_input_grad[1] else None
        for k in range(size * size):
            dy, dx = divmod(k, size)
            g = grad[:, k : k + 1]
            if grad_f1 is not None:
                grad_f1.addcmul_(g, padded[..., dy : dy + h, dx : dx + w])
            if grad_padded is not None:
                grad_padded[..., dy : dy + h, dx : dx + w].addcmul_(g, f1)
        grad_f2 = None if grad_padded is None else grad_padded[..., radius : radius + h, radius : radius + w]
        return grad_f1, grad_f2, None


def local_correlation(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W): the compiled kernel for float32 on the CPU, else shifted products
    (fast; first-order gradients only)."""
    dtype = torch.promote_types(f1.dtype, f2.dtype)
    f1, f2 = f1.to(dtype), f2.to(dtype)
    if dtype == torch.float32 and f1.device.type == "cpu" and kernel() is not None:
        return _NativeCorrelation.apply(f1, f2, radius)
    return _ShiftedCorrelation.apply(f1, f2, radius)


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


def cosine_correlation(f1: Tensor, f2: Tensor, radius: int) -> Tensor:
    """(B, C, H, W) ×2 -> (B, (2r+1)², H, W) float32 in [-1, 1]: cosine similarity of the centred features of
    ``f1(p)`` and ``f2(p + d_k)`` (0 outside ``f2``), computed in float32 whatever the autocast.

    The channel mean of products of standardised vectors is their correlation coefficient, i.e. the cosine of
    the centred vectors: no further scaling pass.
    """
    with torch.autocast(f1.device.type, enabled=False):
        return local_correlation(standardised(f1), standardised(f2), radius)
