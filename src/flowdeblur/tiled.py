"""A network wrapper restoring full frames tile by tile (:mod:`flowdeblur.ops.tiling`), for eval and infer."""

from __future__ import annotations

from torch import Tensor, nn

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.network import FlowDeblurNet, NetOutput
from flowdeblur.ops.tiling import tiled_forward


class TiledNet(nn.Module):
    """Same call as :class:`~flowdeblur.network.FlowDeblurNet`, run on overlapping tiles of ``tile`` pixels.

    Frames that fit in one tile (and any frame when ``tile`` is None or 0) go through the wrapped network
    whole, with its full output. Tiled frames give the stitched ``restored`` frame only (empty motion and
    weights): evaluation on real footage needs no flow.
    """

    def __init__(self, net: FlowDeblurNet, tile: int | tuple[int, int] | None, overlap: int = 32) -> None:
        super().__init__()
        self.net, self.tile, self.overlap = net, tile, overlap

    @property
    def stride(self) -> int:
        return self.net.stride

    def forward(self, frames: Tensor, target: int) -> NetOutput:
        """(B, T, 3, H, W), target index -> :class:`NetOutput` with restored (B, 3, H, W)."""
        if not self.tile:
            return self.net(frames, target)
        th, tw = (self.tile, self.tile) if isinstance(self.tile, int) else tuple(self.tile)
        if frames.shape[-2] <= th and frames.shape[-1] <= tw:
            return self.net(frames, target)
        restored = tiled_forward(lambda part: self.net(part, target).restored, frames, self.tile,
                                 self.overlap)
        return NetOutput(restored=restored, motion=MotionFeatures(features={}, flows={}), weights={})
