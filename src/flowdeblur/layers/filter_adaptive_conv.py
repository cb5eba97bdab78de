"""Filter-adaptive convolution (Zhou et al., "Spatio-Temporal Filter Adaptive Network for Video Deblurring",
ICCV 2019): every pixel is filtered with its own k×k filter."""

from __future__ import annotations

from torch import Tensor

from flowdeblur.layers.base import ConditionedLayer, WeightSpec
from flowdeblur.ops.filtering import IMPLS, per_pixel_filter


class FilterAdaptiveConv(ConditionedLayer):
    """(B, C, H, W), filters (B, G*k*k, H, W) -> (B, C, H, W); no parameters of its own.

    Filter group ``g`` (channels ``g*k*k .. (g+1)*k*k``, taps row-major) filters feature channels
    ``g*C/G .. (g+1)*C/G`` (see :mod:`flowdeblur.ops.filtering`). A delta filter (1 at the centre tap) makes
    the layer the identity.

    Args:
        channels: feature channels C.
        kernel_size: odd filter size k.
        groups: filter groups G dividing C; None -> C (one filter per channel).
        impl: filtering implementation (:data:`flowdeblur.ops.filtering.IMPLS`).
    """

    def __init__(self, channels: int, kernel_size: int = 3, groups: int | None = None, impl: str = "fast") -> None:
        super().__init__(channels)
        groups = channels if groups is None else int(groups)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"model.layer.kernel_size: expected an odd size, got {kernel_size}")
        if groups < 1 or channels % groups:
            raise ValueError(f"model.layer.groups: expected a divisor of the {channels} channels, got {groups}")
        if impl not in IMPLS:
            raise ValueError(f"model.layer.impl: expected one of {IMPLS}, got '{impl}'")
        self.kernel_size = int(kernel_size)
        self.groups = groups
        self.impl = impl

    @property
    def weight_spec(self) -> WeightSpec:
        k = self.kernel_size
        return WeightSpec("filters", self.groups * k * k, per_pixel=True, kernel_size=k)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        """(B, C, H, W), filters (B, G*k*k, H, W) -> (B, C, H, W)."""
        self.check_weights(x, weights)
        return per_pixel_filter(x, weights, self.kernel_size, self.impl)
