"""The default val set is about as hard as GoPro: blurry-target PSNR within [25, 29] dB."""

from __future__ import annotations

import torch
from omegaconf import OmegaConf

from flowdeblur.build import build_dataset
from flowdeblur.config import CONF_DIR

CONF = CONF_DIR / "data" / "synthetic.yaml"


def test_default_val_input_psnr_is_gopro_like() -> None:
    cfg = OmegaConf.create({"seed": 0, "model": {"num_frames": 3, "target": None}, "data": OmegaConf.load(CONF)})
    dataset = build_dataset(cfg.data, "val", length=32)
    scores = []
    for i in range(len(dataset)):
        item = dataset[i]
        t = item["target"]
        mse = ((item["blurry"][t] - item["sharp"][t]) ** 2).mean().clamp_min(1e-10)
        scores.append(float(-10 * torch.log10(mse)))
    mean = sum(scores) / len(scores)
    assert 25.0 <= mean <= 29.0, mean
    assert min(scores) < 24.0 and max(scores) > 30.0  # both camera-shake and object-only clips
