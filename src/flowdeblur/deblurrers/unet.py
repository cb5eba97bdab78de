"""U-Net deblurrer of the target frame (or the stacked window), with conditioned layers after encoder stages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from flowdeblur.deblurrers.base import INPUTS, Deblurrer, deblurrer_input
from flowdeblur.deblurrers.blocks import conv, stage
from flowdeblur.layers.base import ConditionedLayer

# the stems, in the order of the level of their output (full resolution, 1/2)
STEMS = ("full", "space_to_depth")


class UNetDeblurrer(Deblurrer):
    """Encoder–decoder with skips; output = target frame + predicted residual.

    The stem sees the target frame only (``input="target"``, the published form: motion reaches the restoration
    only through the conditioned layers), the whole window stacked target first (``input="window"``) or that
    window with the neighbours warped onto the target by the learned flow (``input="aligned"``). Stage
    ``i`` of the encoder (the stem is stage 0, then ``len(channels) - 1`` stride-2 stages) works at level
    ``first + i`` (1/2**level of the frame), where ``first`` is 0 for the ``full`` stem (full-resolution
    convolutions) and 1 for the ``space_to_depth`` stem (each 2×2 block of pixels folded into channels first;
    the decoder ends at 1/2 and its 4·3 output channels unfold into the full-resolution residual: no convolution
    runs at full resolution). A conditioned layer built by ``layer(width)`` follows the stage of every level in
    ``conditioned_levels``.

    Args:
        num_frames: window length T (``model.num_frames``; :class:`~flowdeblur.network.FlowDeblurNet` checks inputs).
        channels: feature channels of the stem and of each stride-2 stage, e.g. (32, 64, 96, 128).
        blocks: residual blocks per stage (encoder and decoder).
        layer: factory of the conditioned layer, or None for a plain (unconditioned) U-Net.
        conditioned_levels: levels that get a conditioned layer (ignored when ``layer`` is None).
        input: ``target``, ``window`` or ``aligned`` (see above).
        stem: ``full`` or ``space_to_depth`` (see above).
    """

    def __init__(
        self,
        num_frames: int,
        channels: Sequence[int] = (32, 64, 96, 128),
        blocks: int = 2,
        layer: Callable[[int], ConditionedLayer] | None = None,
        conditioned_levels: Sequence[int] = (1, 2, 3),
        input: str = "target",
        stem: str = "full",
    ) -> None:
        super().__init__()
        if input not in INPUTS:
            raise ValueError(f"model.deblurrer.input: expected one of {list(INPUTS)}, got '{input}'")
        if stem not in STEMS:
            raise ValueError(f"model.deblurrer.stem: expected one of {list(STEMS)}, got '{stem}'")
        channels = [int(c) for c in channels]
        depth = len(channels) - 1
        if depth < 1:
            raise ValueError(f"model.deblurrer.channels: expected at least 2 entries, got {channels}")
        self.first = STEMS.index(stem)  # level of the stem's output
        levels = [int(level) for level in conditioned_levels] if layer is not None else []
        valid = range(max(self.first, 1), self.first + depth + 1)
        bad = [level for level in levels if level not in valid]
        if bad:
            raise ValueError(
                f"model.levels: conditioned levels {bad} do not exist in a deblurrer with {depth} stride-2 stages "
                f"and a {stem} stem (valid: {valid.start}..{valid.stop - 1})"
            )
        self.num_frames = int(num_frames)
        self.input = input
        self.stride = 2 ** (self.first + depth)
        fold = 4**self.first  # pixels folded into channels by the stem
        self.stem = stage(fold * (3 * self.num_frames if input != "target" else 3), channels[0], blocks)
        self.down = nn.ModuleList(stage(channels[i], channels[i + 1], blocks, stride=2) for i in range(depth))
        self.conditioned = nn.ModuleDict(
            {str(level): layer(channels[level - self.first]) for level in levels} if layer is not None else {}
        )
        self.up = nn.ModuleList(conv(channels[i + 1], channels[i]) for i in reversed(range(depth)))
        self.decode = nn.ModuleList(stage(channels[i], channels[i], blocks) for i in reversed(range(depth)))
        self.out = conv(channels[0], 3 * fold)
        nn.init.zeros_(self.out.weight)
        assert self.out.bias is not None  # Conv2d's default bias=True
        nn.init.zeros_(self.out.bias)

    def forward(self, frames: Tensor, target: int, weights: dict[int, Tensor]) -> Tensor:
        """(B, T, 3, H, W), target, level -> weights -> (B, 3, H, W); H, W multiples of ``stride``."""
        x = deblurrer_input(frames, target, self.input)
        x = self.condition(self.stem(F.pixel_unshuffle(x, 2) if self.first else x), self.first, weights)
        skips = [x]
        for level, down in enumerate(self.down, start=self.first + 1):
            x = self.condition(down(x), level, weights)
            skips.append(x)
        skips.pop()
        for up, decode in zip(self.up, self.decode, strict=True):
            skip = skips.pop()
            x = decode(up(F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)) + skip)
        residual = self.out(x)
        return frames[:, target] + (F.pixel_shuffle(residual, 2) if self.first else residual)

    def condition(self, x: Tensor, level: int, weights: dict[int, Tensor]) -> Tensor:
        """The conditioned layer of ``level`` applied to ``x`` (B, C, H / 2**level, W / 2**level), if it has one."""
        if str(level) not in self.conditioned:
            return x
        return self.conditioned[str(level)](x, weights[level])
