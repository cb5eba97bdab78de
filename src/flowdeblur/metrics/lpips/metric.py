"""LPIPS as a torchmetrics ``Metric``: the mean over all images seen, synchronised across processes."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torchmetrics import Metric

from flowdeblur.metrics.lpips.pretrained import exclude_from_state_dict, load_pretrained


class LPIPSMetric(Metric):
    """Mean LPIPS over every image pair passed to ``update`` (``sum`` / ``count``, summed across processes).

    ``update(preds, target)`` takes (B, 3, H, W) tensors in [0, 1]; ``compute()`` returns a scalar (lower is
    more similar). The pretrained network is a frozen constant kept out of ``state_dict()``.

    Args:
        net: backbone, ``"alex"`` or ``"vgg"``.
        weights: backbone weight file or directory; default resolution in :mod:`.weights`.
        **kwargs: passed to :class:`torchmetrics.Metric`.

    Raises:
        LPIPSUnavailableError: no weights could be found or fetched (the message says why).
        LPIPSWeightsError: a weight file has the wrong shapes or checksum (the message names it).
    """

    is_differentiable = True
    higher_is_better = False
    full_state_update = False

    sum: Tensor
    count: Tensor

    def __init__(self, net: str = "alex", weights: str | Path | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.net = load_pretrained(net, weights)
        exclude_from_state_dict(self, "net")
        self.add_state("sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """(B, 3, H, W) ×2 in [0, 1]: add the B per-image distances."""
        values = self.net(preds, target)
        self.sum += values.sum().to(self.sum.dtype)
        self.count += values.numel()

    def compute(self) -> Tensor:
        """-> scalar mean LPIPS over the images seen (float32)."""
        return (self.sum / self.count).float()
