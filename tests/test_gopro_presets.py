"""GPU recipes from the literature: the presets compose with their cited numbers, their schedules decay as the
published ones, and each trains end to end (on CPU, a few steps on a GoPro-layout fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowdeblur.lit.decay import multistep, poly
from tests.footage import write_pair
from tests.helpers import compose_config

PRESETS = {
    "tcsvt_gopro": {"lr": 1e-4, "weight_decay": 1e-6, "layer": "SpatialRNN", "scheduler": "poly"},
    "fac_gopro": {"lr": 1e-4, "weight_decay": 0.0, "layer": "FilterAdaptiveConv", "scheduler": "multistep"},
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_compose_with_the_published_settings(preset: str) -> None:
    cfg = compose_config([f"experiment={preset}", "data.root=/data/GOPRO_Large"])
    expected = PRESETS[preset]
    assert cfg.data.dataset._target_.endswith("GoPro") and cfg.data.train.crop == 256 and cfg.data.batch_size == 20
    assert cfg.optim.optimizer._target_ == "torch.optim.Adam" and cfg.optim.optimizer.lr == expected["lr"]
    assert cfg.optim.optimizer.weight_decay == expected["weight_decay"]
    assert list(cfg.optim.optimizer.betas) == [0.9, 0.999]
    assert cfg.optim.scheduler._target_.endswith(expected["scheduler"])
    assert cfg.model.layer._target_.endswith(expected["layer"])
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "bf16-mixed"
    assert cfg.trainer.max_steps == 200000 and cfg.data.val_split == "val"


def lrs(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    values = []
    for _ in range(steps):
        values.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    return values


def test_published_decays() -> None:
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    curve = lrs(poly(opt, total_steps=10, power=2.0), 10)
    assert curve[0] == 1.0 and curve[5] == pytest.approx(0.25) and curve[9] == pytest.approx(0.01)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    curve = lrs(multistep(opt, total_steps=400, milestones=[0.2, 0.4, 0.625], gamma=0.1), 400)
    assert curve[79] == 1.0 and curve[80] == pytest.approx(0.1) and curve[160] == pytest.approx(0.01)
    assert curve[249] == pytest.approx(0.01) and curve[250] == pytest.approx(0.001)
    with pytest.raises(ValueError, match="milestones"):
        multistep(opt, total_steps=10, milestones=[80])


@pytest.fixture(scope="module")
def gopro_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("GOPRO_Large")
    for split, names in {
        "train": ["GOPR0372_07_00", "GOPR0374_11_00", "GOPR0378_13_00"],
        "test": ["GOPR0384_11_00"],
    }.items():
        for k, name in enumerate(names):
            write_pair(root / split / name / "blur", root / split / name / "sharp", 4, seed=k)
    return root


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_train_on_a_gopro_layout(preset: str, gopro_root: Path, tmp_path: Path) -> None:
    from flowdeblur.train import train

    overrides = [
        f"experiment={preset}",
        f"data.root={gopro_root}",
        "logger=csv",
        "~callbacks.progress_bar",
        "lpips_metric=false",
        "trainer=cpu",
        "trainer.precision=32-true",
        "trainer.max_steps=3",
        "trainer.check_val_every_n_epoch=1",
        "data.batch_size=2",
        "data.num_workers=0",
        "data.train.crop=32",
        "data.val.crop=32",
        "~callbacks.panels",
        "model.deblurrer.channels=[8,8,16,16]",
        "model.flow.channels=[8,8,8]",
    ]
    results = train(compose_config(overrides, output_dir=tmp_path))
    assert results["status"] == "completed" and results["val_split"] == "val"
    assert results["checkpoint/step"] in (2, 3) and "test/psnr" in results
