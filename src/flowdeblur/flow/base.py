"""Flow backbone contract: a window of frames in, multi-scale motion features and flows out.

Conventions (shared by every backbone):
- ``frames`` is ``(B, T, 3, H, W)`` RGB in [0, 1]; ``target`` indexes the frame to restore.
- Levels are integers: level ``l`` has resolution ``H / 2**l`` (level 1 = 1/2, 2 = 1/4, 3 = 1/8).
- ``H`` and ``W`` are multiples of ``2**max(levels)``; :class:`flowdeblur.network.FlowDeblurNet` pads for that.
- Flow is in pixels of its own level, channel order ``(dx, dy)``, from the target frame to each neighbour:
  ``target(p) ~= neighbour(p + flow(p))``, i.e. it is used with backward warping (:func:`flowdeblur.ops.warp.warp`).
  Neighbours are the window frames other than ``target``, in window order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass
class MotionFeatures:
    """Output of a flow backbone.

    features: level -> (B, C_l, H / 2**l, W / 2**l) motion features (all neighbours fused).
    flows: level -> (B, T - 1, 2, H / 2**l, W / 2**l) flow from the target to each neighbour, in pixels.
    losses: name -> scalar self-supervised loss term, already multiplied by its configured weight.
    """

    features: dict[int, Tensor]
    flows: dict[int, Tensor]
    losses: dict[str, Tensor] = field(default_factory=dict)


class FlowBackbone(nn.Module):
    """Base class: subclasses set ``levels`` and ``channels`` and implement :meth:`forward`.

    Args:
        levels: pyramid levels at which motion features are produced, e.g. ``(1, 2, 3)``.
        channels: motion-feature channels per level, same length as ``levels``.
    """

    def __init__(self, levels: tuple[int, ...] | list[int], channels: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        levels = tuple(int(level) for level in levels)
        channels = tuple(int(c) for c in channels)
        if len(levels) != len(channels):
            raise ValueError(f"model.flow: levels {levels} and channels {channels} must have the same length")
        if any(level < 1 for level in levels):
            raise ValueError(f"model.flow.levels: expected levels >= 1 (1 = half resolution), got {levels}")
        self.levels = levels
        self.channels = dict(zip(levels, channels, strict=True))

    @property
    def stride(self) -> int:
        """Frame sizes must be multiples of this."""
        return 2 ** max(self.levels)

    def forward(self, frames: Tensor, target: int) -> MotionFeatures:  # pragma: no cover - interface
        """(B, T, 3, H, W), target index -> :class:`MotionFeatures`."""
        raise NotImplementedError


def neighbour_indices(num_frames: int, target: int) -> list[int]:
    """Window indices of the neighbours of ``target``, in window order."""
    return [j for j in range(num_frames) if j != target]


def check_window(frames: Tensor, target: int) -> None:
    """Raise a clear error if ``frames`` is not (B, T>=2, 3, H, W) or ``target`` is outside the window."""
    if frames.dim() != 5 or frames.shape[2] != 3:
        raise ValueError(f"expected frames of shape (B, T, 3, H, W), got {tuple(frames.shape)}")
    if frames.shape[1] < 2:
        raise ValueError(f"expected a window of T >= 2 frames, got T={frames.shape[1]}")
    if not 0 <= target < frames.shape[1]:
        raise ValueError(f"target index {target} is outside the window of T={frames.shape[1]} frames")


def zeros_like_levels(frames: Tensor, channels: dict[int, int]) -> dict[int, Tensor]:
    """Zero maps (B, C_l, H / 2**l, W / 2**l) for every level in ``channels``."""
    b, _, _, h, w = frames.shape
    return {
        level: torch.zeros(b, c, h >> level, w >> level, dtype=frames.dtype, device=frames.device)
        for level, c in channels.items()
    }
