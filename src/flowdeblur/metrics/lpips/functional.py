"""Functional LPIPS: ``lpips(preds, target, net="alex") -> (B,)``."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import Tensor

from flowdeblur.metrics.lpips.model import LPIPSNet
from flowdeblur.metrics.lpips.pretrained import load_pretrained


@functools.lru_cache(maxsize=8)
def _cached(net: str, weights: str | None, device: torch.device) -> LPIPSNet:
    return load_pretrained(net, weights).to(device)


def lpips(preds: Tensor, target: Tensor, net: str = "alex", weights: str | Path | None = None) -> Tensor:
    """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) float32 LPIPS v0.1 distance per image pair.

    Inputs are scaled to [-1, 1] internally, as the official ``lpips.LPIPS(...)(x, y, normalize=True)``; no
    resizing; both sides need at least 31 px (alex) / 16 px (vgg). The frozen network is built once per
    (net, weights, device) and reused. Differentiable with respect to the inputs.

    Raises:
        LPIPSUnavailableError: no weights could be found or fetched (the message says why).
        LPIPSWeightsError: a weight file has the wrong shapes or checksum (the message names it).
    """
    return _cached(net, None if weights is None else str(weights), preds.device)(preds, target)
