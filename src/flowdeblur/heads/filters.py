"""Weight head for the filter-adaptive convolution: per-pixel k×k filters for each filter group."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from flowdeblur.heads.base import WeightHead
from flowdeblur.heads.blocks import conv_trunk, last_conv
from flowdeblur.layers.base import WeightSpec

NORMALIZATIONS = ("softmax", "none")


class FiltersHead(WeightHead):
    """(B, C_in, H, W) -> filters (B, G*k*k, H, W), taps row-major per group (see ``ops.filtering``).

    ``normalize``:
    - ``"softmax"``: softmax over the k*k taps of each group: every filter is positive and sums to 1 (a
      local weighted average). The output conv's bias starts with the centre tap's logit raised so that the
      initial filters put ``init_centre`` of their weight on the centre tap (the rest spread evenly): close to
      a delta.
    - ``"none"``: the conv output as is (signed, unnormalised, as in STFAN). The bias starts as the delta
      filter (1 at the centre tap, 0 elsewhere), so the initial filters are a delta plus a small perturbation.
    In both cases the output conv's weights start at ``init_scale`` of their default scale.

    Args:
        in_channels: motion-feature channels.
        spec: the layer's ``filters`` spec (per pixel, ``channels = G * k * k``).
        normalize: ``"softmax"`` or ``"none"``.
        hidden: channels of an optional 3×3 conv + LeakyReLU before the output conv.
        init_scale: factor on the output conv's default initial weights.
        init_centre: initial weight of the centre tap with ``"softmax"`` (in (1/k², 1)).
    """

    produces = "filters"

    def __init__(
        self,
        in_channels: int,
        spec: WeightSpec,
        normalize: str = "softmax",
        hidden: int | None = None,
        init_scale: float = 0.01,
        init_centre: float = 0.9,
    ) -> None:
        super().__init__(in_channels, spec)
        taps = spec.kernel_size * spec.kernel_size
        if not spec.per_pixel or spec.channels % taps:
            raise ValueError(f"{type(self).__name__}: needs a per-pixel spec with G*{taps} channels, got {spec}")
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"model.head.normalize: expected one of {NORMALIZATIONS}, got '{normalize}'")
        if normalize == "softmax" and taps > 1 and not 1.0 / taps < init_centre < 1.0:
            raise ValueError(f"model.head.init_centre: expected a value in (1/{taps}, 1), got {init_centre}")
        self.normalize = normalize
        self.taps = taps
        self.body = conv_trunk(in_channels, spec.channels, hidden, init_scale)
        centre = 1.0
        if normalize == "softmax":
            # softmax of [c, 0, ..., 0] puts e^c / (e^c + taps - 1) on the centre tap
            centre = math.log(init_centre * (taps - 1) / (1.0 - init_centre)) if taps > 1 else 0.0
        bias = last_conv(self.body).bias
        assert bias is not None  # conv_trunk's convolutions have a bias
        with torch.no_grad():
            bias.view(-1, taps)[:, taps // 2] = centre

    def forward(self, motion: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, G*k*k, H, W)."""
        filters = self.body(motion)
        if self.normalize == "none":
            return filters
        b, _, h, w = filters.shape
        return filters.view(b, -1, self.taps, h, w).softmax(dim=2).view(b, -1, h, w)
