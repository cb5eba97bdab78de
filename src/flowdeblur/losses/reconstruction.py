"""Image reconstruction losses."""

from __future__ import annotations

from torch import Tensor, nn


def charbonnier(preds: Tensor, target: Tensor, eps: float = 1e-3) -> Tensor:
    """(B, C, H, W) ×2 -> scalar mean of sqrt((preds - target)^2 + eps^2)."""
    return ((preds - target).pow(2) + eps * eps).sqrt().mean()


class DeblurLoss(nn.Module):
    """Charbonnier reconstruction of the target frame, plus an optional LPIPS term.

    Args:
        eps: Charbonnier epsilon.
        lpips_weight: weight of the LPIPS perceptual term (0 disables it and loads no LPIPS weights).
        lpips_net: LPIPS backbone ("alex" or "vgg").
    """

    def __init__(self, eps: float = 1e-3, lpips_weight: float = 0.0, lpips_net: str = "alex") -> None:
        super().__init__()
        self.eps = eps
        self.lpips_weight = float(lpips_weight)
        self.lpips: nn.Module | None = None
        if self.lpips_weight > 0:
            from flowdeblur.metrics.lpips import LPIPSLoss

            self.lpips = LPIPSLoss(net=lpips_net)

    def forward(self, restored: Tensor, sharp: Tensor) -> dict[str, Tensor]:
        """(B, 3, H, W) ×2 -> named loss terms (already weighted); their sum is the reconstruction loss."""
        terms = {"charbonnier": charbonnier(restored, sharp, self.eps)}
        if self.lpips is not None:
            terms["lpips"] = self.lpips_weight * self.lpips(restored, sharp).mean()
        return terms
