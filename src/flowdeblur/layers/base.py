"""Conditioned-layer contract: a small layer whose weights are supplied at call time.

A layer declares the weight tensor it needs with a :class:`WeightSpec`; a weight head (flow or content source)
or :class:`flowdeblur.sources.static_scalar.StaticWeights` (static_scalar source) produces exactly that tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn


@dataclass(frozen=True)
class WeightSpec:
    """The weights a conditioned layer needs.

    kind: what the weights mean: ``"gates"`` (scan gates), ``"filters"`` (per-pixel k×k filters) or
        ``"kernels"`` (per-sample conv kernels); heads check it so that a mismatched head fails at construction.
    channels: number of weight channels ``Cw``.
    per_pixel: True -> weights are (B, Cw, H, W) at the layer's resolution; False -> (B, Cw) per sample.
    kernel_size: k for filters/kernels (1 for gates).
    """

    kind: str
    channels: int
    per_pixel: bool
    kernel_size: int = 1

    def shape(self, batch: int, height: int, width: int) -> tuple[int, ...]:
        """The exact weight shape for a batch of feature maps of size (height, width)."""
        if self.per_pixel:
            return (batch, self.channels, height, width)
        return (batch, self.channels)


class ConditionedLayer(nn.Module):
    """Base class: ``forward(x, weights) -> y`` with y the same shape as x (B, C, H, W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = int(channels)

    @property
    def weight_spec(self) -> WeightSpec:  # pragma: no cover - interface
        raise NotImplementedError

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:  # pragma: no cover - interface
        """(B, C, H, W), weights of ``weight_spec.shape(B, H, W)`` -> (B, C, H, W)."""
        raise NotImplementedError

    def check_weights(self, x: Tensor, weights: Tensor) -> None:
        """Raise if ``weights`` does not have the declared shape for input ``x``."""
        b, _, h, w = x.shape
        expected = self.weight_spec.shape(b, h, w)
        if tuple(weights.shape) != expected:
            raise ValueError(
                f"{type(self).__name__}: expected weights of shape {expected} for input {tuple(x.shape)}, "
                f"got {tuple(weights.shape)}"
            )
