"""Weight-head contract: motion (or content) features in, the weights of one conditioned layer out."""

from __future__ import annotations

from torch import Tensor, nn

from flowdeblur.layers.base import WeightSpec


class WeightHead(nn.Module):
    """Base class. Subclasses set ``produces`` (a :attr:`WeightSpec.kind`) and build their output for ``spec``.

    Args:
        in_channels: channels of the motion features fed to the head.
        spec: the weight spec declared by the conditioned layer this head drives.
    """

    produces: str = ""

    def __init__(self, in_channels: int, spec: WeightSpec) -> None:
        super().__init__()
        if spec.kind != self.produces:
            raise ValueError(
                f"weight head {type(self).__name__} produces '{self.produces}' weights but the conditioned layer "
                f"needs '{spec.kind}' weights {spec}; pick a head that produces '{spec.kind}'"
            )
        self.in_channels = int(in_channels)
        self.spec = spec

    def forward(self, motion: Tensor) -> Tensor:  # pragma: no cover - interface
        """(B, C_in, H, W) -> weights of shape ``spec.shape(B, H, W)``."""
        raise NotImplementedError
