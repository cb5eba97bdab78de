"""Weight head for the spatially-variant RNN: per-pixel scan gates in [-1, 1]."""

from __future__ import annotations

import torch
from torch import Tensor

from flowdeblur.heads.base import WeightHead
from flowdeblur.heads.blocks import conv_trunk
from flowdeblur.layers.base import WeightSpec


class RNNGatesHead(WeightHead):
    """(B, C_in, H, W) -> gates (B, spec.channels, H, W) = tanh(conv(features)) in [-1, 1].

    The last convolution starts at 1% of its default scale with zero bias, so the initial gates are close to 0
    and the driven :class:`~flowdeblur.layers.spatial_rnn.SpatialRNN` starts close to the identity.

    Args:
        in_channels: motion-feature channels.
        spec: the layer's ``gates`` spec (per pixel).
        hidden: channels of an optional 3×3 conv + LeakyReLU before the output conv (None: no hidden conv).
        init_scale: factor on the output conv's default initial weights.
    """

    produces = "gates"

    def __init__(self, in_channels: int, spec: WeightSpec, hidden: int | None = None, init_scale: float = 0.01) -> None:
        super().__init__(in_channels, spec)
        if not spec.per_pixel:
            raise ValueError(f"{type(self).__name__}: needs a per-pixel spec, got {spec}")
        self.body = conv_trunk(in_channels, spec.channels, hidden, init_scale)

    def forward(self, motion: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, spec.channels, H, W) in [-1, 1]."""
        return torch.tanh(self.body(motion))
