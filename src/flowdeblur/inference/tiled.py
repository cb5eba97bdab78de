"""Restore whole frames, or full-width strips equal to whole frames when memory is short (eval and infer).

Guarantee: with strips, the output equals the whole-frame output up to (a) float rounding and (b) the parts of
the network's *local* receptive field (convolutions, flow warps, up-sampling) that reach further than
``overlap`` rows past a strip's owned rows. Row-wise operations see whole rows, and the spatial RNN's column
scans, whose reach is the whole column, are carried exactly from strip to strip
(:mod:`flowdeblur.inference.scan_carry`). Layers that pool over the whole frame (e.g. the dynamic conv's routing) are
not covered: restore such networks whole (a large ``max_memory_mb``).

Choice: whole frames whenever the estimated memory fits ``max_memory_mb`` (None: 80 % of the free GPU memory,
or half the available RAM); otherwise the tallest strips that fit. The estimate is the network's peak activation
memory per pixel, measured once on a small window (float32; bf16 needs less), times the batch and frame size.
``tile`` overrides the choice with strips owning ``tile`` rows.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.distributed._tools.mem_tracker import MemTracker

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.inference.scan_carry import ScanCarry
from flowdeblur.network import FlowDeblurNet, NetOutput
from flowdeblur.ops.tiling import Strip, plan_strips

MB = 2**20
# context rows above and below a strip: the default network's encoder reaches 1/16, whose 3x3 convolutions see far
OVERLAP = 96


class TiledNet(nn.Module):
    """Same call as :class:`~flowdeblur.network.FlowDeblurNet`; frames that do not fit the memory budget are
    restored in strips (module docstring).

    Whole frames give the wrapped network's full output; strips give the stitched ``restored`` frame only
    (empty motion and weights).

    Args:
        net: the network.
        tile: rows owned per strip (rounded up to the stride), or None to choose by ``max_memory_mb``.
        overlap: context rows above and below every strip (rounded up to the stride).
        max_memory_mb: activation memory budget in MiB; None: from the device (module docstring).
    """

    def __init__(
        self, net: FlowDeblurNet, tile: int | None = None, overlap: int = OVERLAP, max_memory_mb: float | None = None
    ) -> None:
        super().__init__()
        if tile is not None and (not isinstance(tile, int) or tile < 0):
            raise ValueError(f"tile: expected null or the rows per strip (an int >= 0), got {tile!r}")
        if not isinstance(overlap, int) or overlap < 0:
            raise ValueError(f"tile_overlap: expected an int >= 0 (context rows), got {overlap!r}")
        if max_memory_mb is not None and max_memory_mb <= 0:
            raise ValueError(f"max_memory_mb: expected null or a positive number, got {max_memory_mb!r}")
        self.net, self.tile, self.overlap, self.max_memory_mb = net, tile, overlap, max_memory_mb
        self._bytes_per_pixel: float | None = None

    @property
    def stride(self) -> int:
        return self.net.stride

    def __getattr__(self, name: str) -> Any:
        """Other attributes (``source``, ``flow``, ...) are the wrapped network's."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("net"), name)

    def forward(self, frames: Tensor, target: int) -> NetOutput:
        """(B, T, 3, H, W), target index -> :class:`NetOutput` with restored (B, 3, H, W)."""
        rows = self.strip_rows(frames)
        if rows is None or rows >= frames.shape[-2]:
            return self.net(frames, target)
        strips = plan_strips(frames.shape[-2], rows, self.overlap, self.stride)

        def run(strip: Strip) -> Tensor:
            return self.net(frames[..., strip.top : strip.bottom, :], target).restored

        with ScanCarry(self.net, self.stride) as scans:
            scans.solve(run, strips)
            parts = [scans.run(run, strips, k)[..., s.start - s.top : s.stop - s.top, :] for k, s in enumerate(strips)]
        return NetOutput(restored=torch.cat(parts, dim=-2), motion=MotionFeatures(features={}, flows={}), weights={})

    def strip_rows(self, frames: Tensor) -> int | None:
        """Rows owned per strip for this window, None for whole frames."""
        if self.tile:
            return self.tile
        b, _, _, h, w = frames.shape
        budget = (self.max_memory_mb or default_budget_mb(frames.device)) * MB
        per_row = self.bytes_per_pixel() * b * w
        if per_row * h <= budget:
            return None
        stride, context = self.stride, -(-self.overlap // self.stride) * self.stride
        rows = int(budget // per_row) - 2 * context
        rows -= rows % stride
        if rows < stride:
            need = per_row * (stride + 2 * context) / MB
            raise ValueError(
                f"max_memory_mb: {budget / MB:.0f} MiB cannot hold a strip of {w}-pixel-wide frames "
                f"(at least {need:.0f} MiB with tile_overlap={self.overlap}); raise max_memory_mb"
            )
        return rows

    def bytes_per_pixel(self) -> float:
        """Peak activation bytes per frame pixel of one window, measured once."""
        if self._bytes_per_pixel is None:
            self._bytes_per_pixel = measure_bytes_per_pixel(self.net)
        return self._bytes_per_pixel


@torch.no_grad()
def measure_bytes_per_pixel(net: FlowDeblurNet) -> float:
    """Peak activation memory of ``net`` (float32, no autograd) on a (1, T, 3, 4s, 8s) window of its own T, per
    pixel (s: its stride)."""
    h, w = 4 * net.stride, 8 * net.stride
    param = next(net.parameters())
    frames = torch.rand(1, net.num_frames, 3, h, w, device=param.device)
    tracker = MemTracker()
    tracker.track_external(net)
    with tracker:
        net(frames, net.target)
    peak = tracker.get_tracker_snapshot("peak")
    activations = sum(
        sum(v for k, v in stats.items() if getattr(k, "name", "") in ("ACT", "TEMP")) for stats in peak.values()
    )
    return activations / (h * w)


def default_budget_mb(device: torch.device) -> float:
    """80 % of the free memory of a CUDA device; half the available RAM otherwise (4 GiB if unknown)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return 0.8 * free / MB
    try:
        with open("/proc/meminfo") as info:
            fields = dict(line.split(":", 1) for line in info)
        return 0.5 * int(fields["MemAvailable"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return 4096.0
