"""The ``dis`` backbone: classical DIS optical flow (OpenCV) with a small learned stem for motion features.

Direction: ``cv2.DISOpticalFlow.calc(prev, next)`` returns ``flow`` with ``prev(p) ~= next(p + flow(p))``.
Called with ``prev = target`` and ``next = neighbour`` it is already the project's convention (target ->
neighbour, backward warping), so no sign change is needed. The flow is computed at full resolution on 8-bit
grayscale frames, on the CPU and without gradients; level ``l`` gets it area-pooled by ``2**l`` and divided by
``2**l`` (pixels of that level). DIS needs frames of at least 12 pixels on one side.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flowdeblur.flow.base import FlowBackbone, MotionFeatures
from flowdeblur.flow.blocks import conv_block
from flowdeblur.flow.window import check_num_frames, target_first
from flowdeblur.ops.warp import warp

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def to_gray_uint8(frames: Tensor) -> np.ndarray:
    """(N, 3, H, W) RGB in [0, 1] -> (N, H, W) uint8 grayscale (ITU-R BT.601 luma)."""
    luma = frames.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    gray = (frames.float() * luma).sum(1).mul(255.0).round().clamp(0, 255)
    return gray.to(torch.uint8).cpu().numpy()


@torch.no_grad()
def dis_flow(target: Tensor, neighbours: Tensor, preset: str = "medium") -> Tensor:
    """target (B, 3, H, W), neighbours (B, N, 3, H, W) -> (B, N, 2, H, W) DIS flow from the target to each
    neighbour in pixels, ``target(p) ~= neighbour(p + flow(p))``; on the device and dtype of ``target``."""
    if preset not in PRESETS:
        raise ValueError(f"model.flow.preset: expected one of {sorted(PRESETS)}, got '{preset}'")
    b, n = neighbours.shape[:2]
    estimator = cv2.DISOpticalFlow.create(PRESETS[preset])
    reference = to_gray_uint8(target)
    others = to_gray_uint8(neighbours.flatten(0, 1)).reshape(b, n, *reference.shape[1:])
    flows = np.stack(
        [
            # flow=None: OpenCV allocates the output (and uses no initial flow); its stubs do not allow None
            np.stack([estimator.calc(reference[i], others[i, j], None) for j in range(n)])  # type: ignore[call-overload]
            for i in range(b)
        ]
    )
    return torch.from_numpy(flows).permute(0, 1, 4, 2, 3).to(device=target.device, dtype=target.dtype)


class DISFlow(FlowBackbone):
    """(B, T, 3, H, W), target -> features (B, C_l, H_l, W_l) and DIS flows (B, T-1, 2, H_l, W_l) per level.

    The stem of level ``l`` sees the flows to all neighbours and, per neighbour, the mean absolute residual
    ``|target - warp(neighbour, flow)|`` (zero outside the frame); only the stems are learned. No losses.

    Args:
        num_frames: window length T (>= 2).
        levels, channels: see :class:`flowdeblur.flow.base.FlowBackbone`.
        preset: DIS preset, ``ultrafast`` | ``fast`` | ``medium``.
    """

    def __init__(
        self,
        num_frames: int,
        levels: Sequence[int] = (1, 2, 3),
        channels: Sequence[int] = (32, 48, 64),
        preset: str = "medium",
    ) -> None:
        super().__init__(tuple(levels), tuple(channels))
        if preset not in PRESETS:
            raise ValueError(f"model.flow.preset: expected one of {sorted(PRESETS)}, got '{preset}'")
        self.num_frames = check_num_frames(num_frames)
        self.preset = preset
        self.stems = nn.ModuleDict(
            {str(level): conv_block(3 * (num_frames - 1), self.channels[level]) for level in self.levels}
        )

    def forward(self, frames: Tensor, target: int) -> MotionFeatures:
        """(B, T, 3, H, W), target index -> :class:`MotionFeatures` (no losses)."""
        window = target_first(frames, target, self.stride, self.num_frames)
        b, t = window.shape[:2]
        full = dis_flow(window[:, 0], window[:, 1:], self.preset)
        features: dict[int, Tensor] = {}
        flows: dict[int, Tensor] = {}
        for level in self.levels:
            scale = 2**level
            flow = F.avg_pool2d(full.flatten(0, 1), scale).unflatten(0, (b, t - 1)) / scale
            with torch.no_grad():
                images = F.avg_pool2d(window.flatten(0, 1), scale).unflatten(0, (b, t))
                warped, valid = warp(images[:, 1:].flatten(0, 1), flow.flatten(0, 1))
                reference = images[:, :1].expand(-1, t - 1, -1, -1, -1).flatten(0, 1)
                residual = ((reference - warped).abs().mean(1, keepdim=True) * valid).unflatten(0, (b, t - 1))
            stem_input = torch.cat([flow.flatten(1, 2), residual.flatten(1, 2)], dim=1)
            features[level] = self.stems[str(level)](stem_input)
            flows[level] = flow
        return MotionFeatures(features=features, flows=flows)
