"""Weight head for the dynamic convolution: per-sample kernels as a routed mixture of experts (CondConv)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from flowdeblur.heads.base import WeightHead
from flowdeblur.layers.base import WeightSpec


class KernelsHead(WeightHead):
    """(B, C_in, H, W) -> kernels (B, spec.channels): softmax(linear(avgpool(features))) @ experts.

    The global average of the motion features is routed by a linear layer and a softmax over ``num_experts``
    learned expert kernels (each of ``spec.channels`` values); the sample's kernel is their mixture
    (Yang et al., "CondConv", NeurIPS 2019). The experts start small and random (``init_scale`` of a Kaiming
    scale for a C×C×k×k conv), so the residual :class:`~flowdeblur.layers.dynamic_conv.DynamicConv` starts
    close to the identity while the routing still gets gradients (the experts differ).

    Args:
        in_channels: motion-feature channels.
        spec: the layer's ``kernels`` spec (per sample, ``channels = C*C*k*k``).
        num_experts: number of expert kernels K >= 2.
        init_scale: factor on the experts' initial Kaiming scale.
    """

    produces = "kernels"

    def __init__(self, in_channels: int, spec: WeightSpec, num_experts: int = 4, init_scale: float = 0.01) -> None:
        super().__init__(in_channels, spec)
        if spec.per_pixel:
            raise ValueError(f"{type(self).__name__}: needs a per-sample spec, got {spec}")
        if num_experts < 2:
            raise ValueError(
                f"model.head.num_experts: expected at least 2 (a single expert ignores the input), got {num_experts}"
            )
        self.route = nn.Linear(in_channels, num_experts)
        # channels = C*C*k*k, so the conv's fan-in C*k*k is sqrt(channels * k*k)
        fan_in = math.isqrt(spec.channels * spec.kernel_size**2)
        scale = init_scale * math.sqrt(2.0 / fan_in)
        self.experts = nn.Parameter(torch.randn(num_experts, spec.channels) * scale)

    def forward(self, motion: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, spec.channels)."""
        mix = self.route(motion.mean(dim=(2, 3))).softmax(dim=1)
        return mix @ self.experts
