"""U-Net deblurrer of the target frame (or the stacked window), with conditioned layers after encoder stages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from flowdeblur.deblurrers.base import INPUTS, Deblurrer, deblurrer_input
from flowdeblur.deblurrers.blocks import conv, stage
from flowdeblur.layers.base import ConditionedLayer


class UNetDeblurrer(Deblurrer):
    """Encoder–decoder with skips; output = target frame + predicted residual.

    The stem sees the target frame only (``input="target"``, the published form: motion reaches the restoration
    only through the conditioned layers) or the whole window stacked target first (``input="window"``). The
    encoder has a full-resolution stem and ``len(channels) - 1`` stride-2 stages (stage ``l`` works at
    level ``l``, i.e. 1/2**l). A conditioned layer built by ``layer(channels)`` follows the stage of every level
    in ``conditioned_levels``.

    Args:
        num_frames: window length T (``model.num_frames``; :class:`~flowdeblur.network.FlowDeblurNet` checks inputs).
        channels: feature channels of the stem and of each stride-2 stage, e.g. (32, 64, 96, 128).
        blocks: residual blocks per stage (encoder and decoder).
        layer: factory of the conditioned layer, or None for a plain (unconditioned) U-Net.
        conditioned_levels: levels that get a conditioned layer (ignored when ``layer`` is None).
        input: ``target`` or ``window`` (see above).
    """

    def __init__(
        self,
        num_frames: int,
        channels: Sequence[int] = (32, 64, 96, 128),
        blocks: int = 2,
        layer: Callable[[int], ConditionedLayer] | None = None,
        conditioned_levels: Sequence[int] = (1, 2, 3),
        input: str = "target",
    ) -> None:
        super().__init__()
        if input not in INPUTS:
            raise ValueError(f"model.deblurrer.input: expected one of {list(INPUTS)}, got '{input}'")
        channels = [int(c) for c in channels]
        depth = len(channels) - 1
        if depth < 1:
            raise ValueError(f"model.deblurrer.channels: expected at least 2 entries, got {channels}")
        levels = [int(level) for level in conditioned_levels] if layer is not None else []
        bad = [level for level in levels if not 1 <= level <= depth]
        if bad:
            raise ValueError(
                f"model.levels: conditioned levels {bad} do not exist in a deblurrer with {depth} stride-2 stages "
                f"(valid: 1..{depth})"
            )
        self.num_frames = int(num_frames)
        self.input = input
        self.stride = 2**depth
        self.stem = stage(3 * self.num_frames if input == "window" else 3, channels[0], blocks)
        self.down = nn.ModuleList(stage(channels[i], channels[i + 1], blocks, stride=2) for i in range(depth))
        self.conditioned = nn.ModuleDict(
            {str(level): layer(channels[level]) for level in levels} if layer is not None else {}
        )
        self.up = nn.ModuleList(conv(channels[i + 1], channels[i]) for i in reversed(range(depth)))
        self.decode = nn.ModuleList(stage(channels[i], channels[i], blocks) for i in reversed(range(depth)))
        self.out = conv(channels[0], 3)
        nn.init.zeros_(self.out.weight)
        assert self.out.bias is not None  # Conv2d's default bias=True
        nn.init.zeros_(self.out.bias)

    def forward(self, frames: Tensor, target: int, weights: dict[int, Tensor]) -> Tensor:
        """(B, T, 3, H, W), target, level -> weights -> (B, 3, H, W); H, W multiples of ``stride``."""
        x = self.stem(deblurrer_input(frames, target, self.input))
        skips = [x]
        for level, down in enumerate(self.down, start=1):
            x = down(x)
            if str(level) in self.conditioned:
                x = self.conditioned[str(level)](x, weights[level])
            skips.append(x)
        skips.pop()
        for up, decode in zip(self.up, self.decode, strict=True):
            skip = skips.pop()
            x = decode(up(F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)) + skip)
        return frames[:, target] + self.out(x)
