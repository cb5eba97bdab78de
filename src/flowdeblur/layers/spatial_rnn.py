"""Spatially-variant RNN layer (Zhang et al., "Dynamic Scene Deblurring Using Spatially Variant Recurrent
Neural Networks", CVPR 2018): four directional gated scans of the features, merged by a 1×1 convolution."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowdeblur.layers.base import ConditionedLayer, WeightSpec
from flowdeblur.ops.scan import DIRECTIONS, IMPLS, gated_scan_4


class SpatialRNN(ConditionedLayer):
    """(B, C, H, W), gates (B, 4C, H, W) in [-1, 1] -> (B, C, H, W).

    Gate block ``d`` (channels ``d*C .. (d+1)*C``) drives the scan ``h_t = g_t h_{t-1} + (1 - g_t) x_t`` in
    direction ``DIRECTIONS[d]``: left→right, right→left, top→bottom, bottom→top. A 1×1 convolution (4C -> C)
    merges the four scans; it starts as their average with zero bias, so closed gates (g = 0, every scan
    equals x) make the layer the identity: where there is no motion the features pass through unchanged.

    Args:
        channels: feature channels C.
        impl: scan implementation (:data:`flowdeblur.ops.scan.IMPLS`).
    """

    def __init__(self, channels: int, impl: str = "fast") -> None:
        super().__init__(channels)
        if impl not in IMPLS:
            raise ValueError(f"model.layer.impl: expected one of {IMPLS}, got '{impl}'")
        self.impl = impl
        self.merge = nn.Conv2d(len(DIRECTIONS) * channels, channels, kernel_size=1, bias=True)
        with torch.no_grad():
            eye = torch.eye(channels).repeat(1, len(DIRECTIONS)) / len(DIRECTIONS)
            self.merge.weight.copy_(eye.view(channels, len(DIRECTIONS) * channels, 1, 1))
            nn.init.zeros_(self.merge.bias)  # type: ignore[arg-type]  # built with bias=True

    @property
    def weight_spec(self) -> WeightSpec:
        return WeightSpec("gates", len(DIRECTIONS) * self.channels, per_pixel=True)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        """(B, C, H, W), gates (B, 4C, H, W) in [-1, 1] -> (B, C, H, W)."""
        self.check_weights(x, weights)
        return self.merge(gated_scan_4(x, weights, self.impl).to(x.dtype))
