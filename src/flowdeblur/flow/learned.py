"""Base of the learned flow backbones: attaches the self-supervised warping losses to their output.

The losses (:class:`flowdeblur.losses.warping.WarpingLoss`) are computed only in training mode: validation,
test and inference skip their cost, and :class:`flowdeblur.lit.module.FlowDeblurModule` logs them under
``train/``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from flowdeblur.flow.base import FlowBackbone, MotionFeatures
from flowdeblur.losses.warping import WarpingLoss


class SelfSupervisedFlow(FlowBackbone):
    """A :class:`FlowBackbone` trained by warping losses.

    Args:
        levels, channels: see :class:`FlowBackbone`.
        photometric_weight, smoothness_weight, level_weights, penalty, smoothness_alpha, occlusion_quantile,
        occlusion_start, occlusion_ramp: see :class:`flowdeblur.losses.warping.WarpingLoss`.
    """

    def __init__(
        self,
        levels: Sequence[int],
        channels: Sequence[int],
        photometric_weight: float = 0.1,
        smoothness_weight: float = 0.01,
        level_weights: Sequence[float] | None = None,
        penalty: str = "census",
        smoothness_alpha: float = 10.0,
        occlusion_quantile: float = 0.9,
        occlusion_start: int = 0,
        occlusion_ramp: int = 0,
    ) -> None:
        super().__init__(tuple(levels), tuple(channels))
        self.warping_loss = WarpingLoss(
            self.levels,
            photometric_weight,
            smoothness_weight,
            level_weights,
            penalty,
            smoothness_alpha,
            occlusion_quantile,
            occlusion_start,
            occlusion_ramp,
        )
        # False when the flow is frozen (flowdeblur.flow.pretrained.freeze): the losses would train nothing
        self.learns_flow = True

    def output(self, window: Tensor, features: dict[int, Tensor], flows: dict[int, Tensor]) -> MotionFeatures:
        """window (B, T, 3, H, W) target first, per-level features and flows -> :class:`MotionFeatures`, with
        the weighted warping losses when training a flow that learns."""
        losses = self.warping_loss(window, flows) if self.training and self.learns_flow else {}
        return MotionFeatures(features=features, flows=flows, losses=losses)
