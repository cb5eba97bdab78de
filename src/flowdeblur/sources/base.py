"""Weight-source contract: ``(frames, target, motion) -> level -> weights`` of every conditioned layer.

A source is built by :class:`flowdeblur.network.FlowDeblurNet` as ``source(specs=..., channels=..., head=...)``:
``specs`` maps level -> the :class:`~flowdeblur.layers.base.WeightSpec` of that level's conditioned layer,
``channels`` level -> the backbone's motion-feature channels, ``head`` is the weight-head factory
``head(in_channels, spec)`` (None when the config has none).

The backbone runs on :meth:`WeightSource.backbone_window` of the input window: the window itself for the flow
source; T copies of the target frame for the content source, so the same backbone and heads see the target's
content but no motion.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.heads.base import WeightHead
from flowdeblur.layers.base import WeightSpec

HeadFactory = Callable[[int, WeightSpec], WeightHead]


class WeightSource(nn.Module):
    """Base class of the weight sources.

    ``sees_motion`` says whether the backbone's flows come from the real window (their end-point error against
    ground truth is then meaningful).
    """

    sees_motion: bool = True

    def backbone_window(self, frames: Tensor, target: int) -> Tensor:
        """(B, T, 3, H, W) -> (B, T, 3, H, W): the window the flow backbone sees (default: unchanged)."""
        return frames

    def forward(self, frames: Tensor, target: int, motion: MotionFeatures) -> dict[int, Tensor]:
        """(B, T, 3, H, W) padded window, target, the backbone's output -> level -> layer weights."""
        raise NotImplementedError  # pragma: no cover - interface


def build_heads(
    specs: dict[int, WeightSpec], channels: dict[int, int], head: HeadFactory | None, source: str
) -> nn.ModuleDict:
    """One weight head per conditioned level, fed with that level's motion-feature channels."""
    if specs and head is None:
        raise ValueError(f"model.head: the '{source}' weight source needs a weight head")
    missing = sorted(set(specs) - set(channels))
    if missing:
        raise ValueError(
            f"model: conditioned layers at levels {missing} but the flow backbone only gives motion features at "
            f"levels {sorted(channels)}"
        )
    return nn.ModuleDict({str(level): head(channels[level], spec) for level, spec in specs.items()})  # type: ignore[misc]
