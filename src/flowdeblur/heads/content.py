"""The "content" weight source's image encoder: features of the target frame at the motion-feature levels."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class ContentEncoder(nn.Module):
    """Target frame (B, 3, H, W) -> level -> (B, C_l, H / 2**l, W / 2**l) image features.

    One light stage per level 1..max(levels): a stride-2 3×3 conv and a 3×3 conv, each followed by
    LeakyReLU. The features of ``levels`` have exactly the channels given (those of the flow backbone's motion
    features), so the same weight heads can be fed with content instead of motion. A level between requested
    ones uses the channels of the next requested level. H and W must be multiples of 2**max(levels).

    Args:
        levels: levels to output (1 = 1/2 resolution), e.g. (1, 2, 3).
        channels: channels per level, same length as ``levels``.
    """

    def __init__(self, levels: Sequence[int], channels: Sequence[int]) -> None:
        super().__init__()
        wanted = dict(zip((int(level) for level in levels), (int(c) for c in channels), strict=True))
        if not wanted or min(wanted) < 1:
            raise ValueError(f"ContentEncoder: expected levels >= 1, got {list(levels)}")
        self.levels = tuple(sorted(wanted))
        self.stages = nn.ModuleList()
        previous = 3
        for level in range(1, max(wanted) + 1):
            width = wanted[min(lv for lv in wanted if lv >= level)]
            self.stages.append(nn.Sequential(
                nn.Conv2d(previous, width, 3, stride=2, padding=1), nn.LeakyReLU(0.1, inplace=True),
                nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
            ))
            previous = width

    def forward(self, frame: Tensor) -> dict[int, Tensor]:
        """(B, 3, H, W) -> level -> (B, C_l, H / 2**l, W / 2**l)."""
        features: dict[int, Tensor] = {}
        x = frame
        for level, stage in enumerate(self.stages, start=1):
            x = stage(x)
            if level in self.levels:
                features[level] = x
        return features
