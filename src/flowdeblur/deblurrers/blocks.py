"""Plain convolutional building blocks of the deblurrers."""

from __future__ import annotations

from torch import Tensor, nn


def conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution with 'same' padding."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """(B, C, H, W) -> (B, C, H, W): x + conv(act(conv(x))), no normalisation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels), nn.LeakyReLU(0.1, inplace=True), conv(channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def stage(in_channels: int, out_channels: int, blocks: int, stride: int = 1) -> nn.Sequential:
    """conv (optionally strided) + activation + ``blocks`` residual blocks."""
    layers: list[nn.Module] = [conv(in_channels, out_channels, stride), nn.LeakyReLU(0.1, inplace=True)]
    layers += [ResBlock(out_channels) for _ in range(blocks)]
    return nn.Sequential(*layers)
