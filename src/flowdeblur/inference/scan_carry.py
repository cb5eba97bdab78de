"""Exact vertical scans of every spatial RNN of a network run strip by strip (:mod:`flowdeblur.ops.tiling`).

A :class:`~flowdeblur.layers.spatial_rnn.SpatialRNN` scans whole rows (exact in full-width strips) and whole
columns, which cross strips. Its vertical scans are linear in their initial state, so a strip's scan started
anywhere can be corrected exactly once the true state at its owned edge is known (top→bottom, rows ``r`` owned)::

    h_true[r] = h_strip[r] + prod(g[start..r]) * (s_in - h_strip[start - 1])

and likewise bottom→top from the far edge. The correction is added to the scans just before the layer's 1×1
merge (a forward pre-hook on ``layer.merge``; the gates come from a pre-hook on the layer). States depend on the
corrected outputs of the layers before, so :class:`ScanCarry` finds them layer by layer: pass ``i`` runs every
strip up to the ``i``-th spatial RNN call (earlier ones corrected), records its edge states and stops; a last
pass with every correction gives the output. Cost: one full forward per strip plus one partial forward per spatial
RNN layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from flowdeblur.layers.spatial_rnn import SpatialRNN
from flowdeblur.ops.scan import DIRECTIONS
from flowdeblur.ops.tiling import Strip, carry

DOWN, UP = DIRECTIONS.index("top_to_bottom"), DIRECTIONS.index("bottom_to_top")


class _Recorded(Exception):
    """Raised by a hook once the layer being recorded has reported its edge states: the rest is not needed."""


class ScanCarry:
    """Hooks on every spatial RNN of ``net`` (a context manager) and the edge states found so far.

    Args:
        net: the network; its spatial RNN layers must each run once per forward.
        stride: the network's padding multiple (strip bounds are multiples of it).
    """

    def __init__(self, net: nn.Module, stride: int) -> None:
        self.layers = [m for m in net.modules() if isinstance(m, SpatialRNN)]
        self.stride = stride
        self.handles: list[RemovableHandle] = []
        self.states: list[tuple[list[Tensor | None], list[Tensor | None]]] = []  # per layer call: down, up
        self.strip: tuple[int, int, Strip] = (0, 1, Strip(0, 0, 1, 1))  # index, count, strip
        self.calls, self.record_at = 0, -1
        self.gates: Tensor | None = None
        self.report: tuple[Tensor, Tensor, Tensor, Tensor] | None = None

    def __enter__(self) -> ScanCarry:
        for layer in self.layers:
            self.handles.append(layer.register_forward_pre_hook(self._take_gates))
            self.handles.append(layer.merge.register_forward_pre_hook(self._correct))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def solve(self, run: Callable[[Strip], Any], strips: list[Strip]) -> None:
        """Find the edge states of every spatial RNN call, in call order; ``run(strip)`` runs the net on it."""
        self.states.clear()
        for layer in range(len(self.layers)):
            reports = [self._report(run, strips, k, layer) for k in range(len(strips))]
            ends, gains, firsts, up_gains = (list(parts) for parts in zip(*reports, strict=True))
            self.states.append((carry(ends, gains), carry(firsts[::-1], up_gains[::-1])[::-1]))

    def run(self, run: Callable[[Strip], Any], strips: list[Strip], k: int) -> Any:
        """``run(strips[k])`` with every known state applied."""
        self.strip, self.calls, self.record_at = (k, len(strips), strips[k]), 0, -1
        return run(strips[k])

    def _report(
        self, run: Callable[[Strip], Any], strips: list[Strip], k: int, layer: int
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        self.strip, self.calls, self.record_at, self.report = (k, len(strips), strips[k]), 0, layer, None
        try:
            run(strips[k])
        except _Recorded:
            pass
        if self.report is None:
            raise RuntimeError(
                f"tiling: spatial RNN call {layer} did not run; expected each of the network's "
                f"{len(self.layers)} spatial RNN layers to run once per forward"
            )
        return self.report

    def _take_gates(self, module: nn.Module, args: tuple[Tensor, Tensor]) -> None:
        self.gates = args[1]

    def _correct(self, module: nn.Module, args: tuple[Tensor]) -> tuple[Tensor]:
        """Pre-hook on the merge conv: scans (B, 4C, h, w) with the vertical blocks corrected."""
        call, self.calls = self.calls, self.calls + 1
        scans, gates = args[0], self.gates
        assert gates is not None
        k, count, strip = self.strip
        c, rows = scans.shape[1] // len(DIRECTIONS), scans.shape[-2]
        padded = -(-(strip.bottom - strip.top) // self.stride) * self.stride
        scale = padded // rows
        a = (strip.start - strip.top) // scale
        b = rows if k == count - 1 else (strip.stop - strip.top) // scale
        down, up = scans[:, DOWN * c : (DOWN + 1) * c], scans[:, UP * c : (UP + 1) * c]
        g_down = gates[:, DOWN * c : (DOWN + 1) * c, a:b].float()
        g_up = gates[:, UP * c : (UP + 1) * c, a:b].float()
        p_down = g_down.cumprod(dim=-2)
        p_up = g_up.flip(-2).cumprod(dim=-2).flip(-2)
        before = down[..., a - 1, :].float() if a > 0 else torch.zeros_like(p_down[..., 0, :])
        after = up[..., b, :].float() if b < rows else torch.zeros_like(p_up[..., 0, :])
        if call == self.record_at:
            self.report = (
                down[..., b - 1, :].float() - p_down[..., -1, :] * before,
                p_down[..., -1, :],
                up[..., a, :].float() - p_up[..., 0, :] * after,
                p_up[..., 0, :],
            )
            raise _Recorded
        if call >= len(self.states):
            return (scans,)
        s_down, s_up = self.states[call][0][k], self.states[call][1][k]
        scans = scans.clone()
        if s_down is not None:
            fixed = down[..., a:b, :].float() + p_down * (s_down - before)[..., None, :]
            scans[:, DOWN * c : (DOWN + 1) * c, a:b] = fixed.to(scans.dtype)
        if s_up is not None:
            fixed = up[..., a:b, :].float() + p_up * (s_up - after)[..., None, :]
            scans[:, UP * c : (UP + 1) * c, a:b] = fixed.to(scans.dtype)
        return (scans,)
