"""LPIPS as a differentiable module: the perceptual loss term, and per-image LPIPS for evaluation."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.pretrained import exclude_from_state_dict, load_pretrained, warn_unavailable


class LPIPSLoss(nn.Module):
    """(B, 3, H, W) preds, (B, 3, H, W) target in [0, 1] -> (B,) LPIPS per image; gradients reach the inputs.

    The pretrained network is frozen, stays in eval mode under ``.train()``, computes in float32 with
    autocast off, and is left out of ``state_dict()`` (see :func:`exclude_from_state_dict`). Inputs are scaled
    to [-1, 1] internally (the official ``normalize=True``). Reduce the result yourself (e.g. ``.mean()``).

    Args:
        net: backbone, ``"alex"`` (default, the LPIPS authors' choice as a metric) or ``"vgg"``.
        weights: backbone weight file or directory; default resolution in :mod:`.weights`.

    Raises:
        LPIPSUnavailableError: no weights could be found or fetched (the message says why).
        LPIPSWeightsError: a weight file has the wrong shapes or checksum (the message names it).
    """

    def __init__(self, net: str = "alex", weights: str | Path | None = None) -> None:
        super().__init__()
        self.net = load_pretrained(net, weights)
        exclude_from_state_dict(self, "net")

    def train(self, mode: bool = True) -> LPIPSLoss:
        super().train(mode)
        self.net.eval()
        return self

    def forward(self, preds: Tensor, target: Tensor) -> Tensor:
        """(B, 3, H, W) ×2 in [0, 1] -> (B,) float32 distances."""
        return self.net(preds, target)


def lpips_module_or_none(net: str = "alex", weights: str | Path | None = None) -> LPIPSLoss | None:
    """-> frozen per-image :class:`LPIPSLoss`, or None after logging once why LPIPS-``net`` is unavailable."""
    try:
        return LPIPSLoss(net, weights)
    except (LPIPSUnavailableError, LPIPSWeightsError) as err:
        warn_unavailable(net, str(err))
        return None
