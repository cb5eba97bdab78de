"""Dynamic convolution: a k×k convolution whose kernel is supplied per sample, added to its input."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from flowdeblur.layers.base import ConditionedLayer, WeightSpec


class DynamicConv(ConditionedLayer):
    """(B, C, H, W), kernels (B, C*C*k*k) -> (B, C, H, W): ``y = x + conv(x, kernel_b)`` for every sample b.

    The kernels of a sample are laid out as a (C_out, C_in, k, k) conv weight, flattened. The convolution of
    all samples runs as one grouped convolution over the batch (the batch is folded into the channels). The
    residual form makes a zero kernel the identity.

    Args:
        channels: feature channels C (in and out).
        kernel_size: odd kernel size k ('same' zero padding).
    """

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__(channels)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"model.layer.kernel_size: expected an odd size, got {kernel_size}")
        self.kernel_size = int(kernel_size)

    @property
    def weight_spec(self) -> WeightSpec:
        k = self.kernel_size
        return WeightSpec("kernels", self.channels * self.channels * k * k, per_pixel=False, kernel_size=k)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        """(B, C, H, W), kernels (B, C*C*k*k) -> (B, C, H, W)."""
        self.check_weights(x, weights)
        b, c, h, w = x.shape
        k = self.kernel_size
        kernels = weights.reshape(b * c, c, k, k)
        y = F.conv2d(x.reshape(1, b * c, h, w), kernels, padding=k // 2, groups=b)
        return x + y.view(b, c, h, w)
