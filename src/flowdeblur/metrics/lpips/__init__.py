"""LPIPS v0.1 (AlexNet, VGG16) in plain torch with the official weights, without torchvision.

Values equal the official ``lpips.LPIPS(net=..., version="0.1")(x, y, normalize=True)``: inputs are
(B, 3, H, W) in [0, 1], scaled to [-1, 1] internally; no resizing; one value per image pair, lower is more
similar.

- ``lpips(preds, target, net="alex") -> (B,)``; the package itself is callable the same way, so
  ``from flowdeblur.metrics import lpips; lpips(x, y)`` works.
- :class:`LPIPSMetric`: torchmetrics ``Metric``, mean over all images (DDP-synchronised).
- :class:`LPIPSLoss`: frozen differentiable module -> (B,), for the ``loss.lpips_weight`` term.
- :func:`lpips_available` ``-> (ok, backbone file or reason)``; :func:`lpips_module_or_none` for optional use
  (logs once why LPIPS is unavailable and returns None).

Weights: official linear heads from torchmetrics; torchvision's backbone weights from an explicit path,
``$FLOWDEBLUR_LPIPS_WEIGHTS``, torch hub's cache, or ``$FLOWDEBLUR_CACHE/lpips`` (default
``~/.cache/flowdeblur/lpips``) filled by ``python -m flowdeblur.metrics.lpips.fetch``; details in
:mod:`.weights`.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

from torch import Tensor

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.functional import lpips
from flowdeblur.metrics.lpips.loss import LPIPSLoss, lpips_module_or_none
from flowdeblur.metrics.lpips.metric import LPIPSMetric
from flowdeblur.metrics.lpips.model import LPIPSNet
from flowdeblur.metrics.lpips.pretrained import load_pretrained, lpips_available

__all__ = [
    "LPIPSLoss",
    "LPIPSMetric",
    "LPIPSNet",
    "LPIPSUnavailableError",
    "LPIPSWeightsError",
    "load_pretrained",
    "lpips",
    "lpips_available",
    "lpips_module_or_none",
]


class _CallablePackage(types.ModuleType):
    """Makes ``flowdeblur.metrics.lpips(preds, target, ...)`` call :func:`lpips`."""

    def __call__(self, preds: Tensor, target: Tensor, net: str = "alex", weights: str | Path | None = None) -> Tensor:
        return lpips(preds, target, net=net, weights=weights)


sys.modules[__name__].__class__ = _CallablePackage
