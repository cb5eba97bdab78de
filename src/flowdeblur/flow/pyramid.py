"""The ``pyramid`` backbone: the method's own light FlowNet-S-like coarse-to-fine flow network.

An encoder runs over the stacked window (target first, 3T channels) down to the coarsest level. The coarsest
motion feature comes from the coarsest encoding (dilated convolutions widen its view); every finer level fuses
[its encoding, the upsampled coarser motion feature, the upsampled coarser flow]. A zero-initialised head per
level predicts the flows to all T-1 neighbours as a residual on the upsampled coarser flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.flow.blocks import Encoder, conv_block, flow_head, stage_widths
from flowdeblur.flow.learned import SelfSupervisedFlow
from flowdeblur.flow.window import check_num_frames, target_first
from flowdeblur.ops.warp import upsample_flow

COARSEST_DILATIONS = (1, 2, 4)


class PyramidFlow(SelfSupervisedFlow):
    """(B, T, 3, H, W), target -> features (B, C_l, H_l, W_l) and flows (B, T-1, 2, H_l, W_l) per level.

    Args:
        num_frames: window length T (>= 2).
        levels, channels: see :class:`flowdeblur.flow.base.FlowBackbone`; ``channels`` also sets the encoder
            widths.
        **warping: loss options of :class:`flowdeblur.flow.learned.SelfSupervisedFlow`.
    """

    def __init__(
        self,
        num_frames: int,
        levels: Sequence[int] = (1, 2, 3),
        channels: Sequence[int] = (32, 48, 64),
        **warping: Any,
    ) -> None:
        super().__init__(levels, channels, **warping)
        self.num_frames = check_num_frames(num_frames)
        widths = stage_widths(self.channels)
        self.encoder = Encoder(3 * num_frames, widths)
        order = sorted(self.levels, reverse=True)
        coarsest = order[0]
        self.blocks = nn.ModuleDict(
            {str(coarsest): conv_block(widths[coarsest], self.channels[coarsest], COARSEST_DILATIONS)}
        )
        for coarser, level in pairwise(order):
            in_channels = widths[level] + self.channels[coarser] + 2 * (num_frames - 1)
            self.blocks[str(level)] = conv_block(in_channels, self.channels[level])
        self.heads = nn.ModuleDict({str(level): flow_head(self.channels[level], num_frames - 1) for level in order})

    def forward(self, frames: Tensor, target: int) -> MotionFeatures:
        """(B, T, 3, H, W), target index -> :class:`MotionFeatures` (losses while training)."""
        window = target_first(frames, target, self.stride, self.num_frames)
        b, t, _, h, w = window.shape
        encodings = self.encoder(window.reshape(b, 3 * t, h, w))
        features: dict[int, Tensor] = {}
        flows: dict[int, Tensor] = {}
        coarser = None
        for level in sorted(self.levels, reverse=True):
            x = encodings[level]
            if coarser is None:
                feature = self.blocks[str(level)](x)
                flow = self.heads[str(level)](feature).unflatten(1, (t - 1, 2))
            else:
                factor = 2 ** (coarser - level)
                up_flow = upsample_flow(flows[coarser], factor)
                up_feature = F.interpolate(features[coarser], scale_factor=factor, mode="bilinear", align_corners=False)
                feature = self.blocks[str(level)](torch.cat([x, up_feature, up_flow.flatten(1, 2)], dim=1))
                flow = up_flow + self.heads[str(level)](feature).unflatten(1, (t - 1, 2))
            features[level], flows[level] = feature, flow
            coarser = level
        return self.output(window, features, flows)
