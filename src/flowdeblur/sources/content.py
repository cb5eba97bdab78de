"""The ``content`` weight source: the flow source's backbone and heads, run on a window without motion.

The backbone sees T copies of the target frame, so its features carry the target's content (at the same
levels, with the same parameters and MACs as the flow source) and no motion: the only thing removed is motion.
"""

from __future__ import annotations

from torch import Tensor

from flowdeblur.sources.flow import FlowSource


class ContentSource(FlowSource):
    """As :class:`~flowdeblur.sources.flow.FlowSource`; the backbone's window is the target frame T times."""

    name = "content"
    sees_motion = False

    def backbone_window(self, frames: Tensor, target: int) -> Tensor:
        """(B, T, 3, H, W) -> (B, T, 3, H, W) whose every frame is ``frames[:, target]``."""
        return frames[:, target : target + 1].expand_as(frames)
