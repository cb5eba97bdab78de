"""Stage metrics on a batch with known errors: pooled region PSNR and EPE, and EPE only when motion was seen."""

from __future__ import annotations

import math

import pytest
import torch

from flowdeblur.flow.base import MotionFeatures
from flowdeblur.lit.evaluation import StageMetrics
from flowdeblur.network import NetOutput


def batch_and_output() -> tuple[dict[str, torch.Tensor], NetOutput]:
    """Two 8x8 clips; left half moving. Restored = sharp + 0.1 on moving pixels, + 0.01 on static ones of clip 1;
    predicted flow 0 against a ground truth of 3 px (dx) on moving pixels, 0 elsewhere."""
    sharp = torch.full((2, 3, 3, 8, 8), 0.5)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., :4] = 1
    restored = sharp[:, 1] + 0.1 * mask
    restored[1] += 0.01 * (1 - mask[1])
    gt = torch.zeros(2, 2, 2, 8, 8)
    gt[:, :, 0] = 3 * mask
    batch = {
        "sharp": sharp,
        "blurry": sharp.clone(),
        "mask": mask,
        "flow": gt,
        "clip": torch.tensor([0, 1]),
        "index": torch.tensor([0, 1]),
    }
    motion = MotionFeatures(features={}, flows={1: torch.zeros(2, 2, 2, 4, 4, dtype=torch.bfloat16)})
    return batch, NetOutput(restored=restored, motion=motion, weights={})


def test_region_metrics_pool_the_split_and_epe_splits_by_region() -> None:
    metrics = StageMetrics()
    batch, out = batch_and_output()
    metrics.update(batch, 1, out)
    values = {k: float(v) for k, v in metrics.compute().items()}
    assert values["psnr_moving"] == pytest.approx(20.0, abs=1e-3)
    assert values["psnr_static"] == pytest.approx(10 * math.log10(1 / (0.01**2 / 2)), abs=1e-2)
    assert values["psnr_static_input"] == 100.0  # exact match: the stated cap
    assert values["static_changed"] == pytest.approx(0.5) and values["static_changed_input"] == 0.0
    assert values["epe_moving"] == pytest.approx(3.0) and values["epe_static"] == 0.0
    assert values["epe"] == pytest.approx(1.5)


def test_no_epe_when_the_backbone_saw_no_motion() -> None:
    metrics = StageMetrics()
    batch, out = batch_and_output()
    metrics.update(batch, 1, out, sees_motion=False)
    names = set(metrics.compute())
    assert not {"epe", "epe_static", "epe_moving"} & names and "psnr_static" in names


def test_a_nan_restored_frame_is_counted_not_dropped_silently() -> None:
    metrics = StageMetrics()
    batch, out = batch_and_output()
    out.restored[1, 0, 0, 0] = float("nan")
    metrics.update(batch, 1, out)
    values = {k: float(v) for k, v in metrics.compute().items()}
    assert (values["frames"], values["clips"], values["nan_frames"], values["nan_clips"]) == (2, 1, 1, 1)
    assert values["psnr"] == pytest.approx(20.0 + 10 * math.log10(2), abs=1e-3)  # clip 0 alone
