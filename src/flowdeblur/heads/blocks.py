"""Convolutional trunk shared by the per-pixel weight heads."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn


def conv_trunk(in_channels: int, out_channels: int, hidden: int | None, init_scale: float) -> nn.Sequential:
    """(B, C_in, H, W) -> (B, C_out, H, W): [3×3 conv + LeakyReLU when ``hidden``] + 3×3 conv.

    The last convolution starts with its default random weights times ``init_scale`` and a zero bias, so the
    head's raw output starts small (its weights still get gradients, unlike an all-zero start).
    """
    layers: list[nn.Module] = []
    if hidden:
        layers += [nn.Conv2d(in_channels, hidden, 3, padding=1), nn.LeakyReLU(0.1, inplace=True)]
        in_channels = hidden
    last = nn.Conv2d(in_channels, out_channels, 3, padding=1)
    with torch.no_grad():
        last.weight.mul_(init_scale)
        assert last.bias is not None  # Conv2d's default bias=True
        last.bias.zero_()
    return nn.Sequential(*layers, last)


def last_conv(trunk: nn.Sequential) -> nn.Conv2d:
    """The output convolution of a :func:`conv_trunk`."""
    return cast(nn.Conv2d, trunk[-1])
