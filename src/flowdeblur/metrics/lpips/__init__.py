"""LPIPS v0.1 (AlexNet, VGG16) in plain torch with the official weights, without torchvision.

Values equal the official ``lpips.LPIPS(net=..., version="0.1")(x, y, normalize=True)``: inputs are
(B, 3, H, W) in [0, 1], scaled to [-1, 1] internally; no resizing; one value per image pair, lower is more
similar.

- :class:`LPIPSLoss`: frozen differentiable module -> (B,), for the ``loss.lpips_weight`` term and the val/test
  ``lpips`` metric (averaged frame -> clip -> data set like the other metrics).
- :func:`lpips_available` ``-> (ok, backbone file or reason)``; :func:`lpips_module_or_none` for optional use
  (logs once why LPIPS is unavailable and returns None).

Weights: official linear heads from torchmetrics; torchvision's backbone weights from an explicit path,
``$FLOWDEBLUR_LPIPS_WEIGHTS``, torch hub's cache, or ``$FLOWDEBLUR_CACHE/lpips`` (default
``~/.cache/flowdeblur/lpips``) filled by ``python -m flowdeblur.metrics.lpips.fetch``; details in
:mod:`.weights`.
"""

from __future__ import annotations

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.loss import LPIPSLoss, lpips_module_or_none
from flowdeblur.metrics.lpips.pretrained import lpips_available

__all__ = [
    "LPIPSLoss",
    "LPIPSUnavailableError",
    "LPIPSWeightsError",
    "lpips_available",
    "lpips_module_or_none",
]
