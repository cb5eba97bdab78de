"""The ``static_scalar`` weight source: one learned raw scalar per weight channel, no head.

An Adam-type optimiser moves a raw scalar by about the learning rate per step, so through ``tanh`` the gates stay
small over a CPU budget (|g| <= tanh(sum of the learning rates)): kept as a named option for comparison with
earlier results; the ablation's control is :mod:`flowdeblur.sources.static` (the method's heads on learned
features).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.layers.base import WeightSpec
from flowdeblur.sources.base import HeadFactory, WeightSource

KINDS = ("gates", "filters", "kernels")


class StaticWeights(nn.Module):
    """() -> weights of ``spec.shape(B, H, W)``, the same for every sample and pixel.

    Holds one raw parameter, (1, Cw, 1, 1) for per-pixel specs or (1, Cw) per sample, broadcast (expanded, not
    copied) to the requested size. Per kind, and chosen to start at the identity of the matching layer:
    - ``gates``: ``tanh(raw)`` (the range of :class:`~flowdeblur.heads.rnn_gates.RNNGatesHead`), raw = 0:
      closed gates, as the head's near-zero start.
    - ``filters``: ``raw`` itself, unnormalised (as ``FiltersHead(normalize="none")``), starting as the delta
      filter of every group (the head's softmax start is a near-delta).
    - ``kernels``: ``raw`` itself, starting at zero (the residual dynamic conv's identity; the head's experts
      start near zero).
    """

    def __init__(self, spec: WeightSpec) -> None:
        super().__init__()
        if spec.kind not in KINDS:
            raise ValueError(f"StaticWeights: unknown weight kind '{spec.kind}' in {spec}; expected one of {KINDS}")
        self.spec = spec
        shape = (1, spec.channels, 1, 1) if spec.per_pixel else (1, spec.channels)
        self.raw = nn.Parameter(torch.zeros(shape))
        if spec.kind == "filters":
            taps = spec.kernel_size * spec.kernel_size
            with torch.no_grad():
                self.raw.view(-1, taps)[:, taps // 2] = 1.0

    def forward(self, batch: int, height: int, width: int) -> Tensor:
        """batch, height, width -> weights of ``spec.shape(batch, height, width)``."""
        value = torch.tanh(self.raw) if self.spec.kind == "gates" else self.raw
        return value.expand(self.spec.shape(batch, height, width))


class StaticScalarSource(WeightSource):
    """level -> :class:`StaticWeights` expanded to the level's size; ignores the frames and the motion.

    Args:
        specs: level -> weight spec of the conditioned layer at that level.
        channels, head: accepted for the common source signature; unused (no head, no motion features).
    """

    name = "static_scalar"
    sees_motion = False

    def __init__(
        self, specs: dict[int, WeightSpec], channels: dict[int, int] | None = None, head: HeadFactory | None = None
    ) -> None:
        super().__init__()
        self.weights = nn.ModuleDict({str(level): StaticWeights(spec) for level, spec in specs.items()})

    def forward(self, frames: Tensor, target: int, motion: MotionFeatures) -> dict[int, Tensor]:
        """(B, T, 3, H, W) -> level -> weights of ``spec_l.shape(B, H >> l, W >> l)``."""
        b, _, _, h, w = frames.shape
        return {int(level): source(b, h >> int(level), w >> int(level)) for level, source in self.weights.items()}
