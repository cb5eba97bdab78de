"""The ``flow`` weight source (the method): weight heads fed with the backbone's motion features."""

from __future__ import annotations

from torch import Tensor

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.layers.base import WeightSpec
from flowdeblur.sources.base import HeadFactory, WeightSource, build_heads


class FlowSource(WeightSource):
    """level -> ``head_l(motion.features[l])``: weights of shape ``spec_l.shape(B, H_l, W_l)``.

    Args:
        specs: level -> weight spec of the conditioned layer at that level.
        channels: level -> motion-feature channels of the backbone.
        head: weight-head factory ``head(in_channels, spec)``.
    """

    name = "flow"

    def __init__(self, specs: dict[int, WeightSpec], channels: dict[int, int], head: HeadFactory | None) -> None:
        super().__init__()
        self.heads = build_heads(specs, channels, head, self.name)

    def forward(self, frames: Tensor, target: int, motion: MotionFeatures) -> dict[int, Tensor]:
        """(B, T, 3, H, W), target, motion features (B, C_l, H_l, W_l) per level -> level -> weights."""
        return {int(level): head(motion.features[int(level)]) for level, head in self.heads.items()}
