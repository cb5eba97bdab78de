"""Deblurrer contract: the "second network", an encoder–decoder with conditioned-layer slots in its encoder."""

from __future__ import annotations

from typing import cast

from torch import Tensor, nn

from flowdeblur.flow.base import neighbour_indices
from flowdeblur.layers.base import ConditionedLayer, WeightSpec


class Deblurrer(nn.Module):
    """Base class.

    Subclasses register their conditioned layers in ``self.conditioned`` (level -> layer, keys ``str(level)``)
    and implement :meth:`forward`. Frame sizes must be multiples of :attr:`stride`.
    """

    conditioned: nn.ModuleDict
    stride: int

    @property
    def weight_specs(self) -> dict[int, WeightSpec]:
        """Level -> the weight spec of the conditioned layer at that level."""
        return {int(level): self.conditioned_layer(int(level)).weight_spec for level in self.conditioned}

    def conditioned_layer(self, level: int) -> ConditionedLayer:
        return cast(ConditionedLayer, self.conditioned[str(level)])

    def forward(self, frames: Tensor, target: int, weights: dict[int, Tensor]) -> Tensor:  # pragma: no cover
        """(B, T, 3, H, W), target index, level -> layer weights -> restored target (B, 3, H, W)."""
        raise NotImplementedError


INPUTS = ("target", "window", "aligned")


def deblurrer_input(frames: Tensor, target: int, mode: str) -> Tensor:
    """(B, T, 3, H, W) -> the deblurring branch's input: (B, 3, H, W) target frame (``target``: motion reaches
    the restoration only through the conditioned layers) or (B, 3T, H, W) target-first window (``window``; also
    ``aligned``, whose neighbours :class:`~flowdeblur.network.FlowDeblurNet` has warped onto the target with the
    learned flow, :func:`flowdeblur.deblurrers.align.align_window`)."""
    if mode == "target":
        return frames[:, target]
    if mode in ("window", "aligned"):
        return window_first(frames, target)
    raise ValueError(f"model.deblurrer.input: expected one of {list(INPUTS)}, got '{mode}'")


def window_first(frames: Tensor, target: int) -> Tensor:
    """(B, T, 3, H, W) -> (B, 3T, H, W) with the target frame first, then its neighbours in window order."""
    b, t, c, h, w = frames.shape
    return frames[:, [target, *neighbour_indices(t, target)]].reshape(b, t * c, h, w)
