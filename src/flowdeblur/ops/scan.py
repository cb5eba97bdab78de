"""Gated linear recurrence (the scan of a spatially-variant RNN) along one of four image directions.

For a direction, with ``t`` the position along the scan and ``h_{-1} = 0``::

    h_t = g_t * h_{t-1} + (1 - g_t) * x_t,    g in [-1, 1]

``g = 0`` passes ``x`` through unchanged; ``|g| -> 1`` carries the state further along the row or column.

Implementations with the same values and gradients:
- ``reference``: a plain loop over the columns (or rows) of the image, differentiated by autograd.
- ``fast``: the four directions as one custom op (:mod:`flowdeblur.ops.scan_op`, one node under
  ``torch.compile``): the Triton kernels on CUDA, the compiled kernel of :mod:`flowdeblur.ops.scan_native` on
  CPU (one pass over memory forward, one backward) where a C++ compiler is available, else ``chunked``.
- ``triton``: the same custom op forced onto the Triton kernels (:mod:`flowdeblur.ops.scan_triton`): CUDA
  tensors, or CPU tensors under Triton's interpreter (``TRITON_INTERPRET=1``).
- ``chunked``: pure PyTorch, any device (:mod:`flowdeblur.ops.scan_chunked`): a chunked scan with a
  hand-written backward, ``O(sqrt(T))`` Python steps per direction.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from flowdeblur.ops import scan_chunked
from flowdeblur.ops.scan_chunked import DIRECTIONS, chunk_length, is_reverse, scan_dim, scan_rows_
from flowdeblur.ops.scan_op import gated_scan_4_op, state_dtype
from flowdeblur.ops.triton_kernels import interpreted as triton_interpreted

IMPLS = ("reference", "fast", "chunked", "triton")
__all__ = ["DIRECTIONS", "IMPLS", "chunk_length", "gated_scan", "gated_scan_4", "gated_scan_reference", "scan_rows_"]


def gated_scan(x: Tensor, g: Tensor, direction: str, impl: str = "fast") -> Tensor:
    """(B, C, H, W), gates g (B, C, H, W) in [-1, 1] -> h (B, C, H, W) scanned along ``direction``.

    Computed (and returned) in float32 at least: half-precision inputs are promoted, as the state accumulates
    over whole rows. One direction alone always runs the reference or the chunked scan.
    """
    _check(x, g, (direction,), impl)
    x, g = _promote(x, g)
    if impl == "reference":
        return gated_scan_reference(x, g, direction)
    return _GatedScan.apply(x, g, (direction,))


def gated_scan_4(x: Tensor, gates: Tensor, impl: str = "fast") -> Tensor:
    """(B, C, H, W), gates (B, 4C, H, W) in [-1, 1] -> (B, 4C, H, W): one C-block per direction.

    Block ``d`` of ``gates`` drives direction ``DIRECTIONS[d]`` (left→right, right→left, top→bottom,
    bottom→top) and block ``d`` of the output is that direction's scan of ``x``. Computed in float32 at least,
    as :func:`gated_scan`, whatever the autocast. ``fast`` and ``triton`` return channels-last for
    channels-last gates, else contiguous (:mod:`flowdeblur.ops.scan_op`).
    """
    _check(x, gates, DIRECTIONS, impl)
    if impl in ("fast", "triton"):
        return gated_scan_4_op(x, gates, impl)
    x, gates = _promote(x, gates)
    if impl == "reference":
        blocks = gates.split(x.shape[1], dim=1)
        return torch.cat([gated_scan_reference(x, g, d) for g, d in zip(blocks, DIRECTIONS, strict=True)], 1)
    return _GatedScan.apply(x, gates, DIRECTIONS)


def gated_scan_reference(x: Tensor, g: Tensor, direction: str) -> Tensor:
    """(B, C, H, W), gates (B, C, H, W) -> (B, C, H, W): the recurrence as a loop over columns or rows."""
    _check(x, g, (direction,), "reference")
    dim = scan_dim(direction)
    length = x.shape[dim]
    steps = reversed(range(length)) if is_reverse(direction) else iter(range(length))
    h = torch.zeros_like(x.select(dim, 0))
    out: dict[int, Tensor] = {}
    for t in steps:
        gt = g.select(dim, t)
        h = gt * h + (1 - gt) * x.select(dim, t)
        out[t] = h
    return torch.stack([out[t] for t in range(x.shape[dim])], dim=dim)


def _promote(x: Tensor, gates: Tensor) -> tuple[Tensor, Tensor]:
    """Both in their common dtype, float32 at least."""
    dtype = state_dtype(x, gates)
    return x.to(dtype), gates.to(dtype)


def _check(x: Tensor, gates: Tensor, directions: tuple[str, ...], impl: str) -> None:
    for direction in directions:
        if direction not in DIRECTIONS:
            raise ValueError(f"gated_scan: direction must be one of {DIRECTIONS}, got '{direction}'")
    if impl not in IMPLS or (impl == "triton" and len(directions) != len(DIRECTIONS)):
        raise ValueError(f"gated_scan: impl must be one of {IMPLS} (triton: four directions), got '{impl}'")
    if impl == "triton" and x.device.type != "cuda" and not triton_interpreted():
        raise ValueError("gated_scan: impl 'triton' runs on CUDA tensors (on the CPU only with TRITON_INTERPRET=1)")
    expected = (x.shape[0], len(directions) * x.shape[1], *x.shape[2:]) if x.dim() == 4 else None
    if gates.dim() != 4 or tuple(gates.shape) != expected:
        raise ValueError(
            f"gated_scan: expected x (B, C, H, W) and gates {expected} for {len(directions)} "
            f"direction(s), got {tuple(x.shape)} and {tuple(gates.shape)}"
        )


class _GatedScan(torch.autograd.Function):
    """x (B, C, H, W), gates (B, kC, H, W) -> (B, kC, H, W) for k directions: the chunked scan
    (:mod:`flowdeblur.ops.scan_chunked`). Only x, the gates and the output are kept for the backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, gates: Tensor, directions: tuple[str, ...]) -> Tensor:
        out = scan_chunked.forward(x, gates, directions)
        ctx.save_for_backward(x, gates, out)
        ctx.directions = directions
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor, Tensor, None]:
        x, gates, out = ctx.saved_tensors
        return (*scan_chunked.backward(x, gates, out, grad_out, ctx.directions), None)
