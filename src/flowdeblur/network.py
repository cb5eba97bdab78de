"""FlowDeblurNet: flow backbone -> weight heads -> deblurrer with conditioned layers.

The weight source of the conditioned layers is chosen by ``weight_source``:
- ``flow``: a head per conditioned level fed with the backbone's motion features (the method);
- ``static``: learned, input-independent weights of the same shape (:class:`~flowdeblur.heads.static.StaticWeights`);
- ``content``: the same heads fed with image features of the target frame
  (:class:`~flowdeblur.heads.content.ContentEncoder`) instead of motion.
The backbone still runs (and learns from its warping losses) for every source, so the three variants differ only
in what drives the conditioned layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from flowdeblur.deblurrers.base import Deblurrer
from flowdeblur.flow.base import FlowBackbone, MotionFeatures, check_window
from flowdeblur.heads.base import WeightHead
from flowdeblur.heads.content import ContentEncoder
from flowdeblur.heads.static import StaticWeights
from flowdeblur.layers.base import ConditionedLayer, WeightSpec

WEIGHT_SOURCES = ("flow", "static", "content")


@dataclass
class NetOutput:
    """restored: (B, 3, H, W); motion: the backbone's output (padded size); weights: level -> layer weights."""

    restored: Tensor
    motion: MotionFeatures
    weights: dict[int, Tensor]


class FlowDeblurNet(nn.Module):
    """Composes the three parts. Frames of any size are padded to the stride and the output cropped back.

    Args:
        flow: the flow backbone.
        deblurrer: factory ``deblurrer(layer=layer)`` of the encoder–decoder.
        layer: factory ``layer(channels)`` of the conditioned layer, or None for a plain deblurrer.
        head: factory ``head(in_channels, spec)`` of the weight head (flow and content sources).
        weight_source: ``flow``, ``static`` or ``content``.
    """

    def __init__(
        self,
        flow: FlowBackbone,
        deblurrer: Callable[..., Deblurrer],
        layer: Callable[[int], ConditionedLayer] | None = None,
        head: Callable[[int, WeightSpec], WeightHead] | None = None,
        weight_source: str = "flow",
    ) -> None:
        super().__init__()
        if weight_source not in WEIGHT_SOURCES:
            raise ValueError(f"model.weight_source: expected one of {WEIGHT_SOURCES}, got '{weight_source}'")
        self.flow = flow
        self.deblurrer = deblurrer(layer=layer)
        self.weight_source = weight_source
        specs = self.deblurrer.weight_specs
        missing = sorted(set(specs) - set(flow.levels))
        if missing:
            raise ValueError(
                f"model: conditioned layers at levels {missing} but the flow backbone only gives motion "
                f"features at levels {list(flow.levels)}"
            )
        self.heads = nn.ModuleDict()
        self.static = nn.ModuleDict()
        self.content: nn.Module | None = None
        if specs and weight_source in ("flow", "content"):
            if head is None:
                raise ValueError(f"model.head: weight_source '{weight_source}' needs a weight head")
            self.heads.update({str(level): head(flow.channels[level], spec) for level, spec in specs.items()})
        if specs and weight_source == "static":
            self.static.update({str(level): StaticWeights(spec) for level, spec in specs.items()})
        if specs and weight_source == "content":
            levels = sorted(specs)
            self.content = ContentEncoder(levels, [flow.channels[level] for level in levels])

    @property
    def stride(self) -> int:
        """Frames are padded internally to multiples of this."""
        return max(self.flow.stride, self.deblurrer.stride)

    def forward(self, frames: Tensor, target: int) -> NetOutput:
        """(B, T, 3, H, W), target index -> :class:`NetOutput` with restored (B, 3, H, W)."""
        check_window(frames, target)
        h, w = frames.shape[-2:]
        padded = pad_to_multiple(frames, self.stride)
        motion = self.flow(padded, target)
        weights = self.layer_weights(padded, target, motion)
        restored = self.deblurrer(padded, target, weights)
        return NetOutput(restored=restored[..., :h, :w], motion=motion, weights=weights)

    def layer_weights(self, frames: Tensor, target: int, motion: MotionFeatures) -> dict[int, Tensor]:
        """Level -> weights of that level's conditioned layer, from the configured source."""
        b, _, _, h, w = frames.shape
        if self.weight_source == "static":
            return {int(k): src(b, h >> int(k), w >> int(k)) for k, src in self.static.items()}
        if self.weight_source == "content":
            features = self.content(frames[:, target])  # type: ignore[misc]
        else:
            features = motion.features
        return {int(k): head(features[int(k)]) for k, head in self.heads.items()}


def pad_to_multiple(frames: Tensor, multiple: int) -> Tensor:
    """(B, T, C, H, W) -> (B, T, C, H', W') replicate-padded at the bottom/right to multiples of ``multiple``."""
    b, t, c, h, w = frames.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return frames
    padded = F.pad(frames.reshape(b, t * c, h, w), (0, pw, 0, ph), mode="replicate")
    return padded.reshape(b, t, c, h + ph, w + pw)
