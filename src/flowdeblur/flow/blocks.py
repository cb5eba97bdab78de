"""Convolutional building blocks of the learned flow backbones."""

from __future__ import annotations

from torch import Tensor, nn


def conv_act(in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3×3 convolution ('same' padding for stride 1) + LeakyReLU(0.1)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=dilation, dilation=dilation),
        nn.LeakyReLU(0.1, inplace=True),
    )


def conv_block(in_channels: int, out_channels: int, dilations: tuple[int, ...] = (1, 1)) -> nn.Sequential:
    """(B, in, H, W) -> (B, out, H, W): one :func:`conv_act` per entry of ``dilations``."""
    widths = [in_channels] + [out_channels] * len(dilations)
    pairs = zip(widths[:-1], widths[1:], dilations, strict=True)
    return nn.Sequential(*(conv_act(a, b, dilation=d) for a, b, d in pairs))


def flow_head(in_channels: int, num_flows: int) -> nn.Conv2d:
    """(B, in, H, W) -> (B, 2 * num_flows, H, W) flow (residual); zero-initialised (no motion at start)."""
    head = nn.Conv2d(in_channels, 2 * num_flows, 3, padding=1)
    nn.init.zeros_(head.weight)
    assert head.bias is not None  # Conv2d's default bias=True
    nn.init.zeros_(head.bias)
    return head


def stage_widths(channels: dict[int, int]) -> dict[int, int]:
    """Encoder width of levels 1..max(levels): the level's channels, else those of the next coarser level."""
    return {level: channels[min(k for k in channels if k >= level)] for level in range(1, max(channels) + 1)}


class Encoder(nn.Module):
    """(B, in, H, W) -> level -> (B, widths[l], H / 2**l, W / 2**l) for l = 1..max(widths).

    Two convolutions per stage, the first with stride 2.
    """

    def __init__(self, in_channels: int, widths: dict[int, int]) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        previous = in_channels
        for level in range(1, max(widths) + 1):
            self.stages.append(
                nn.Sequential(conv_act(previous, widths[level], stride=2), conv_act(widths[level], widths[level]))
            )
            previous = widths[level]

    def forward(self, x: Tensor) -> dict[int, Tensor]:
        encodings = {}
        for level, stage in enumerate(self.stages, start=1):
            x = stage(x)
            encodings[level] = x
        return encodings
