"""The ``zero`` backbone: no motion at all (ablation control)."""

from __future__ import annotations

import torch
from torch import Tensor

from flowdeblur.flow.base import FlowBackbone, MotionFeatures, check_window, zeros_like_levels
from flowdeblur.flow.window import check_frame_size


class ZeroFlow(FlowBackbone):
    """Zero flow and zero motion features at every level; has no parameters."""

    def forward(self, frames: Tensor, target: int) -> MotionFeatures:
        """(B, T, 3, H, W) -> zero features (B, C_l, H_l, W_l) and zero flows (B, T-1, 2, H_l, W_l)."""
        check_window(frames, target)
        check_frame_size(frames, self.stride)
        b, t, _, h, w = frames.shape
        flows = {
            level: torch.zeros(b, t - 1, 2, h >> level, w >> level, dtype=frames.dtype, device=frames.device)
            for level in self.levels
        }
        return MotionFeatures(features=zeros_like_levels(frames, self.channels), flows=flows)
