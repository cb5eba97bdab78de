"""The ``static`` weight source: the flow source's weight heads fed with learned, input-independent features.

Each conditioned level owns one learned feature vector shaped like the backbone's motion features at that level,
``(1, C_l, 1, 1)``, broadcast over the image and passed through the same weight head as the flow source. The
gates therefore have the method's parametrisation and optimisation dynamics (a 3×3 conv head whose output moves
by many weights per step, not one raw scalar per channel) and depend on nothing but the parameters.
:mod:`flowdeblur.sources.static_scalar` keeps the one-scalar-per-channel form (``model/source=static_scalar``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.layers.base import WeightSpec
from flowdeblur.sources.base import HeadFactory, WeightSource, build_heads


class StaticSource(WeightSource):
    """level -> ``head_l(f_l)`` with ``f_l`` a learned (1, C_l, 1, 1) feature expanded to (B, C_l, H_l, W_l).

    The heads are built first and exactly as :class:`~flowdeblur.sources.flow.FlowSource` builds them, so at one
    seed they start from the flow source's head weights (:func:`flowdeblur.network.seeded`). The features start
    as ``feature_std`` · N(0, 1).

    Args:
        specs: level -> weight spec of the conditioned layer at that level.
        channels: level -> motion-feature channels of the backbone (the features' widths).
        head: weight-head factory ``head(in_channels, spec)``.
        feature_std: standard deviation of the features' initial values.
    """

    name = "static"
    sees_motion = False

    def __init__(
        self,
        specs: dict[int, WeightSpec],
        channels: dict[int, int],
        head: HeadFactory | None,
        feature_std: float = 1.0,
    ) -> None:
        super().__init__()
        self.heads = build_heads(specs, channels, head, self.name)
        self.features = nn.ParameterDict(
            {str(level): nn.Parameter(feature_std * torch.randn(1, channels[level], 1, 1)) for level in specs}
        )

    def forward(self, frames: Tensor, target: int, motion: MotionFeatures) -> dict[int, Tensor]:
        """(B, T, 3, H, W) -> level -> ``head_l`` of the feature expanded to (B, C_l, H >> l, W >> l)."""
        b, _, _, h, w = frames.shape
        weights = {}
        for level, head in self.heads.items():
            feature = self.features[level]
            size = (b, feature.shape[1], h >> int(level), w >> int(level))
            # a copy, as a backbone's features are: a view of a parameter made under no_grad has no gradient
            # function, which torch's module tracker (count_macs) refuses
            weights[int(level)] = head(feature.expand(size).contiguous())
        return weights
