"""The ``pwc`` backbone: a light PWC-Net-style cost-volume flow network.

A feature pyramid is shared by all frames. For every neighbour, coarse to fine: the neighbour's features are
backward-warped onto the target's with the upsampled coarser flow, a local correlation of radius ``r``
(:func:`flowdeblur.ops.correlation.cosine_correlation`) compares them, and an estimator turns [correlation,
target features, upsampled flow, upsampled estimator features] into features and a flow residual. The motion
feature of a level fuses the estimator features of all neighbours with a 1×1 convolution.
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
from flowdeblur.ops.correlation import cosine_correlation
from flowdeblur.ops.warp import upsample_flow, warp_image


class PWCFlow(SelfSupervisedFlow):
    """(B, T, 3, H, W), target -> features (B, C_l, H_l, W_l) and flows (B, T-1, 2, H_l, W_l) per level.

    Args:
        num_frames: window length T (>= 2).
        levels, channels: see :class:`flowdeblur.flow.base.FlowBackbone`; ``channels`` also sets the feature
            pyramid and estimator widths.
        radius: correlation radius r (a (2r+1)² cost volume per level).
        **warping: loss options of :class:`flowdeblur.flow.learned.SelfSupervisedFlow`.
    """

    def __init__(
        self,
        num_frames: int,
        levels: Sequence[int] = (1, 2, 3),
        channels: Sequence[int] = (32, 48, 64),
        radius: int = 3,
        **warping: Any,
    ) -> None:
        super().__init__(levels, channels, **warping)
        self.num_frames = check_num_frames(num_frames)
        self.radius = radius
        widths = stage_widths(self.channels)
        self.encoder = Encoder(3, widths)
        cost = (2 * radius + 1) ** 2
        order = sorted(self.levels, reverse=True)
        coarsest = order[0]
        self.estimators = nn.ModuleDict({str(coarsest): conv_block(cost + widths[coarsest], self.channels[coarsest])})
        for coarser, level in pairwise(order):
            in_channels = cost + widths[level] + 2 + self.channels[coarser]
            self.estimators[str(level)] = conv_block(in_channels, self.channels[level])
        self.heads = nn.ModuleDict({str(level): flow_head(self.channels[level], 1) for level in order})
        self.fuse = nn.ModuleDict(
            {
                str(level): nn.Sequential(
                    nn.Conv2d((num_frames - 1) * self.channels[level], self.channels[level], 1),
                    nn.LeakyReLU(0.1, inplace=True),
                )
                for level in order
            }
        )

    def forward(self, frames: Tensor, target: int) -> MotionFeatures:
        """(B, T, 3, H, W), target index -> :class:`MotionFeatures` (losses while training)."""
        window = target_first(frames, target, self.stride, self.num_frames)
        b, t = window.shape[:2]
        n = t - 1
        pyramid = self.encoder(window.flatten(0, 1))
        channels_last = pyramid[min(pyramid)].is_contiguous(memory_format=torch.channels_last)
        features: dict[int, Tensor] = {}
        flows: dict[int, Tensor] = {}
        coarser: tuple[int, Tensor] | None = None  # the previous (coarser) level and its estimator features
        for level in sorted(self.levels, reverse=True):
            # one split (its backward is one concatenation, where two slices would each scatter into zeros)
            target_features, neighbour_features = pyramid[level].unflatten(0, (b, t)).split([1, n], dim=1)
            reference = repeated_per_neighbour(target_features, n, channels_last)
            if coarser is None:
                neighbours = neighbour_features.flatten(0, 1)
                cost = cosine_correlation(reference, neighbours, self.radius, dtype=reference.dtype)
                estimate = self.estimators[str(level)](torch.cat([cost, reference], dim=1))
                flow = self.heads[str(level)](estimate)
            else:
                coarse_level, coarse_estimate = coarser
                factor = 2 ** (coarse_level - level)
                up_flow = upsample_flow(flows[coarse_level], factor).flatten(0, 1)
                warped = warp_image(neighbour_features, up_flow)  # (B, N, C, h, w): read in place on CUDA
                cost = cosine_correlation(reference, warped, self.radius, dtype=reference.dtype)
                up_estimate = F.interpolate(coarse_estimate, scale_factor=factor, mode="bilinear", align_corners=False)
                # the estimator's inputs in the features' dtype (bf16 under autocast): a float32 concatenation
                # would write twice the bytes, then be cast again by the convolution
                dtype = reference.dtype
                inputs = torch.cat([cost, reference, up_flow.to(dtype), up_estimate.to(dtype)], dim=1)
                estimate = self.estimators[str(level)](inputs)
                flow = up_flow + self.heads[str(level)](estimate)
            flows[level] = flow.unflatten(0, (b, n))
            features[level] = self.fuse[str(level)](estimate.unflatten(0, (b, n)).flatten(1, 2))
            coarser = level, estimate
        return self.output(window, features, flows)


def repeated_per_neighbour(target: Tensor, n: int, channels_last: bool) -> Tensor:
    """(B, 1, C, h, w) -> (B·n, C, h, w): each sample's target features n times, in one copy that keeps the
    encoder's memory layout (channels-last: copied as (B·n, h, w, C)), so that the estimator's concatenated
    inputs are not converted again by its convolution."""
    if not channels_last:
        return target.expand(-1, n, -1, -1, -1).flatten(0, 1)
    pixels = target.permute(0, 1, 3, 4, 2).expand(-1, n, -1, -1, -1)  # (B, n, h, w, C), C innermost in memory
    return pixels.flatten(0, 1).permute(0, 3, 1, 2)
