"""The metrics of one evaluation stage (val or test), updated from a batch and a network output."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowdeblur.metrics.aggregate import ClipAverage
from flowdeblur.metrics.flow import end_point_error
from flowdeblur.metrics.image import masked_psnr, psnr, ssim
from flowdeblur.metrics.protocols import cdvd_metrics
from flowdeblur.network import NetOutput

NAMES = (
    "psnr", "ssim", "psnr_input", "ssim_input",
    "psnr_static", "psnr_moving", "psnr_static_input", "psnr_moving_input",
    "epe", "lpips", "lpips_input", "psnr_cdvd", "ssim_cdvd",
)


class StageMetrics(nn.Module):
    """One :class:`ClipAverage` per metric name; names without any value seen are left out of ``compute``."""

    def __init__(self, lpips: bool = False) -> None:
        super().__init__()
        self.averages = nn.ModuleDict({name: ClipAverage() for name in NAMES})
        self.lpips: nn.Module | None = None
        if lpips:
            from flowdeblur.metrics.lpips import lpips_module_or_none

            self.lpips = lpips_module_or_none()

    @torch.no_grad()
    def update(self, batch: dict[str, Tensor], target: int, out: NetOutput) -> None:
        """Per-frame values of the batch's target frames, keyed by clip and sample index."""
        sharp = batch["sharp"][:, target]
        blurry = batch["blurry"][:, target]
        restored = out.restored.float()
        values = {"psnr": psnr(restored, sharp), "ssim": ssim(restored, sharp),
                  "psnr_input": psnr(blurry, sharp), "ssim_input": ssim(blurry, sharp)}
        if "mask" in batch:
            moving = batch["mask"].float()
            for region, mask in (("static", 1.0 - moving), ("moving", moving)):
                values[f"psnr_{region}"] = masked_psnr(restored, sharp, mask)
                values[f"psnr_{region}_input"] = masked_psnr(blurry, sharp, mask)
        if "sequence_length" in batch:
            values.update(cdvd_metrics(restored, sharp, batch["frame"], batch["sequence_length"]))
        if "flow" in batch:
            values["epe"] = end_point_error(out.motion.flows, batch["flow"])
        if self.lpips is not None:
            values["lpips"] = self.lpips(restored.clamp(0, 1), sharp)
            values["lpips_input"] = self.lpips(blurry, sharp)
        for name, value in values.items():
            self.averages[name].update(value, batch["clip"], batch["index"])

    def compute(self) -> dict[str, Tensor]:
        """Metric name -> data-set average, for every metric that received values."""
        return {name: avg.compute() for name, avg in self.averages.items() if avg.update_count > 0}

    def per_clip(self) -> dict[str, dict[int, float]]:
        """Metric name -> clip id -> mean over the clip's frames (of all processes under DDP)."""
        per_clip = {}
        for name, avg in self.averages.items():
            if avg.update_count > 0:
                with avg.sync_context():
                    per_clip[name] = avg.per_clip()
        return per_clip

    def reset(self) -> None:
        for avg in self.averages.values():
            avg.reset()
