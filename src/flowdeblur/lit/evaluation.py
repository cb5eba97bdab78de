"""The metrics of one evaluation stage (val or test), updated from a batch and a network output.

Per-frame metrics (averaged frame -> clip -> data set, :class:`~flowdeblur.metrics.clip_average.ClipAverage`):
``psnr``, ``ssim`` (and ``*_input`` for the blurry frame), ``epe`` (finest flow vs ground truth), ``lpips``,
``psnr_cdvd``/``ssim_cdvd``. Region metrics on synthetic data's motion mask, pooled over the split
(:class:`~flowdeblur.metrics.pooled.PooledMean`): ``psnr_static``/``psnr_moving`` from the pooled MSE of the
static/moving pixels, ``static_changed`` the fraction of static pixels changed by more than 1/255 (restored and
``*_input``), ``static_harmed`` the fraction of static pixels the restoration moves more than 1/255 further
from the sharp frame than the input is (0 for passing the input through, meaningful with sensor noise),
``epe_static``/``epe_moving`` the pooled end-point error. EPE is reported only when the backbone
saw the real window (not for the content and static weight sources). Counts of what the PSNR mean rests on:
``frames``, ``clips``, ``nan_frames`` (restored frames whose PSNR is NaN, left out of the means) and ``nan_clips``
(:meth:`~flowdeblur.metrics.clip_average.ClipAverage.counts`).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

from flowdeblur.metrics.clip_average import ClipAverage
from flowdeblur.metrics.flow import end_point_error_map
from flowdeblur.metrics.image import psnr, region_errors, ssim
from flowdeblur.metrics.pooled import PooledMean, psnr_from_mse
from flowdeblur.metrics.protocols import cdvd_metrics
from flowdeblur.network import NetOutput

NAMES = ("psnr", "ssim", "psnr_input", "ssim_input", "epe", "lpips", "lpips_input", "psnr_cdvd", "ssim_cdvd")
REGIONS = ("static", "moving")
# pooled name -> (numerator key, denominator key) of flowdeblur.metrics.image.region_errors
POOLED = {
    **{f"mse_{region}{suffix}": ("sse", "values") for region in REGIONS for suffix in ("", "_input")},
    "static_changed": ("changed", "pixels"),
    "static_changed_input": ("changed", "pixels"),
    "static_harmed": ("harmed", "pixels"),
    "epe_static": ("epe", "pixels"),
    "epe_moving": ("epe", "pixels"),
}


class StageMetrics(nn.Module):
    """Per-frame and pooled metrics; names without any value seen are left out of ``compute``."""

    def __init__(self, lpips: bool = False) -> None:
        super().__init__()
        self.averages = nn.ModuleDict({name: ClipAverage() for name in NAMES})
        self.pooled = nn.ModuleDict({name: PooledMean() for name in POOLED})
        self.lpips: nn.Module | None = None
        if lpips:
            from flowdeblur.metrics.lpips import lpips_module_or_none

            self.lpips = lpips_module_or_none()

    def average(self, name: str) -> ClipAverage:
        """The per-frame metric ``name`` (one of :data:`NAMES`)."""
        return cast(ClipAverage, self.averages[name])

    def pooled_mean(self, name: str) -> PooledMean:
        """The pooled metric ``name`` (one of the keys of :data:`POOLED`)."""
        return cast(PooledMean, self.pooled[name])

    @torch.no_grad()
    def update(self, batch: dict[str, Tensor], target: int, out: NetOutput, sees_motion: bool = True) -> None:
        """Per-frame values and pooled sums of the batch's target frames, keyed by clip and sample index.

        ``sees_motion``: whether the backbone's flows come from the real window (EPE is skipped otherwise).
        """
        sharp = batch["sharp"][:, target]
        blurry = batch["blurry"][:, target]
        restored = out.restored.float()
        index = batch["index"]
        values = {
            "psnr": psnr(restored, sharp),
            "ssim": ssim(restored, sharp),
            "psnr_input": psnr(blurry, sharp),
            "ssim_input": ssim(blurry, sharp),
        }
        epe = end_point_error_map(out.motion.flows, batch["flow"]) if "flow" in batch and sees_motion else None
        if epe is not None:
            values["epe"] = epe.flatten(1).mean(1)
        if "mask" in batch:
            self._update_regions(batch, restored, blurry, sharp, epe)
        if "sequence_length" in batch:
            values.update(cdvd_metrics(restored, sharp, batch["frame"], batch["sequence_length"]))
        if self.lpips is not None:
            values["lpips"] = self.lpips(restored.clamp(0, 1), sharp)
            values["lpips_input"] = self.lpips(blurry, sharp)
        for name, value in values.items():
            self.average(name).update(value, batch["clip"], index)

    def _update_regions(
        self, batch: dict[str, Tensor], restored: Tensor, blurry: Tensor, sharp: Tensor, epe: Tensor | None
    ) -> None:
        """Pooled sums over the static (mask 0) and moving (mask 1) pixels; ``epe`` (B, T-1, H, W) or None."""
        moving = batch["mask"].float()
        index = batch["index"]
        for region, mask in (("static", 1.0 - moving), ("moving", moving)):
            for suffix, image in (("", restored), ("_input", blurry)):
                sums = region_errors(image, sharp, mask, reference=blurry if suffix == "" else None)
                self.pooled_mean(f"mse_{region}{suffix}").update(sums["sse"], sums["values"], index)
                if region == "static":
                    self.pooled_mean(f"static_changed{suffix}").update(sums["changed"], sums["pixels"], index)
                    if suffix == "":
                        self.pooled_mean("static_harmed").update(sums["harmed"], sums["pixels"], index)
            if epe is not None:
                pixels = mask.flatten(1).sum(1) * epe.shape[1]
                self.pooled_mean(f"epe_{region}").update((epe * mask).flatten(1).sum(1), pixels, index)

    def compute(self) -> dict[str, Tensor]:
        """Metric name -> data-set value, for every metric that received values (pooled MSEs as PSNR)."""
        averages = {name: self.average(name) for name in NAMES}
        values = {name: avg.compute() for name, avg in averages.items() if avg.update_count > 0}
        if averages["psnr"].update_count > 0:
            with averages["psnr"].sync_context():
                counts = averages["psnr"].counts()
            values.update({name: torch.tensor(float(n)) for name, n in counts.items()})
        for name in POOLED:
            pooled = self.pooled_mean(name)
            if pooled.update_count == 0:
                continue
            value = float(pooled.compute())
            if name.startswith("mse_"):
                name, value = name.replace("mse_", "psnr_"), psnr_from_mse(value)
            values[name] = torch.tensor(value, dtype=torch.float32)
        return values

    def per_clip(self) -> dict[str, dict[int, float]]:
        """Per-frame metric name -> clip id -> mean over the clip's frames (of all processes under DDP)."""
        per_clip = {}
        for name in NAMES:
            avg = self.average(name)
            if avg.update_count > 0:
                with avg.sync_context():
                    per_clip[name] = avg.per_clip()
        return per_clip

    def reset(self) -> None:
        for metric in [*map(self.average, NAMES), *map(self.pooled_mean, POOLED)]:
            metric.reset()
