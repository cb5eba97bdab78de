"""The LPIPS v0.1 network (Zhang et al., CVPR 2018), computed exactly as the official ``lpips.LPIPS``.

For inputs ``x, y`` in [0, 1] (the official ``normalize=True``): scale to [-1, 1] (``2x - 1``), apply the
scaling layer ``(x - shift) / scale``, take the five backbone feature maps, normalise each over channels
(``f / (||f||_2 + 1e-10)``), square the difference, weight channels with the learned 1×1 linear head, average
over space and sum over the five layers. No resizing, no dropout (eval mode), always float32, autocast off.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowdeblur.metrics.lpips.networks import FeatureStack, alexnet_features, vgg16_features

BACKBONES = {"alex": alexnet_features, "vgg": vgg16_features}
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


def _unit_channels(feat: Tensor, eps: float = 1e-10) -> Tensor:
    """(B, C, H, W) -> same, each pixel's channel vector divided by its L2 norm (+ eps)."""
    return feat / (feat.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPSNet(nn.Module):
    """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) LPIPS distance per image pair.

    State-dict keys: ``backbone.features.<i>.weight|bias`` (torchvision layout) and ``lins.<k>.weight``
    (the official ``lin<k>.model.1.weight``, shape (1, C_k, 1, 1)).

    Args:
        net: backbone, ``"alex"`` or ``"vgg"``.
    """

    shift: Tensor
    scale: Tensor

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in BACKBONES:
            raise ValueError(f"unknown LPIPS net {net!r}; choose one of {sorted(BACKBONES)}")
        self.net = net
        self.backbone: FeatureStack = BACKBONES[net]()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.backbone.channels)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)

    def _check(self, x: Tensor, y: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape != y.shape:
            raise ValueError(
                f"LPIPS expects two (B, 3, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        if min(x.shape[-2:]) < self.backbone.min_size:
            raise ValueError(
                f"LPIPS-{self.net} needs images of at least {self.backbone.min_size} px per "
                f"side, got {tuple(x.shape[-2:])}"
            )

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """(B, 3, H, W), (B, 3, H, W) in [0, 1] -> (B,) distances (0 for identical images)."""
        self._check(x, y)
        with torch.autocast(device_type=x.device.type, enabled=False):
            feats_x = self.backbone((2 * x.float() - 1 - self.shift) / self.scale)
            feats_y = self.backbone((2 * y.float() - 1 - self.shift) / self.scale)
            total = x.new_zeros(x.shape[0], dtype=torch.float32)
            for lin, fx, fy in zip(self.lins, feats_x, feats_y, strict=True):
                diff = (_unit_channels(fx) - _unit_channels(fy)).pow(2)
                total = total + lin(diff).mean(dim=(1, 2, 3))
        return total
