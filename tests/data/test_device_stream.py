"""Synthetic clips drawn by the loader and rendered where the batch lands equal the CPU loader's clips."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.config import compose_config
from flowdeblur.data.device_stream import DrawnBatch, DrawnCollate, SceneDraws
from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.lit.datamodule import DataModule
from tests.helpers import bare_trainer

RUN = [
    "data=synthetic_tiny",
    "logger=csv",
    "~callbacks.progress_bar",
    "lpips_metric=false",
    "run_test=false",
    "~model/head",
    "~model/layer",
    "model/flow=zero",
    "model.deblurrer.channels=[8,8,16,16]",
    "model.deblurrer.blocks=1",
    "min_free_mb=0",
]


@pytest.mark.parametrize("noise_std", [0.0, 0.02])
def test_drawn_then_rendered_equals_the_dataset_sample(noise_std: float) -> None:
    clips = SyntheticBlurClips(length=6, crop=48, blur_subframes=5, max_subframe_motion=1.2, noise_std=noise_std)
    clips.set_epoch(3)
    draws = SceneDraws(clips)
    batch = DrawnCollate(clips)([draws[i] for i in (4, 1)]).render(torch.device("cpu"))
    for row, index in enumerate((4, 1)):
        sample = clips[index]
        for key in ("blurry", "sharp", "flow", "mask"):
            assert torch.equal(batch[key][row], sample[key]), key
        assert int(batch["index"][row]) == index and int(batch["target"][row]) == sample["target"]
    assert batch["target_index"] == clips.target


def loader_batches(render_on: str, tmp_path: Path) -> list[dict[str, torch.Tensor]]:
    datamodule = build_datamodule(compose_config([*RUN, f"data.render_on={render_on}"], output_dir=tmp_path))
    torch.manual_seed(7)  # the shuffle order
    batches = []
    for batch in datamodule.train_dataloader():
        assert isinstance(batch, DrawnBatch) == (render_on == "device")
        batches.append(datamodule.transfer_batch_to_device(batch, torch.device("cpu"), 0))
    return batches


def test_device_rendering_gives_the_cpu_loaders_batches(tmp_path: Path) -> None:
    cpu, device = loader_batches("cpu", tmp_path), loader_batches("device", tmp_path)
    assert len(cpu) == len(device) == 4
    for a, b in zip(cpu, device, strict=True):
        for key in ("blurry", "sharp", "flow", "mask", "index", "target"):
            assert torch.equal(a[key], b[key]), key


def test_auto_renders_in_the_workers_on_a_cpu(tmp_path: Path) -> None:
    datamodule = build_datamodule(compose_config(RUN, output_dir=tmp_path))
    assert datamodule.render_on == "auto" and not datamodule.renders_train_on_device()


def test_training_with_device_rendering(tmp_path: Path) -> None:
    cfg = compose_config([*RUN, "data.render_on=device"], output_dir=tmp_path)
    trainer = bare_trainer(2)
    module = build_module(cfg)
    before = [p.detach().clone() for p in module.parameters()]
    trainer.fit(module, build_datamodule(cfg))
    assert trainer.global_step == 2
    after = list(module.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))  # the rendered batches trained it


def test_loader_options() -> None:
    tensors = DataModule(lambda: TensorDataset(torch.zeros(4, 1)), None, batch_size=2, num_workers=1)
    assert tensors.train_dataloader().persistent_workers  # workers kept between epochs
    assert not tensors.train_dataloader().pin_memory  # no GPU here
    clips = DataModule(lambda: SyntheticBlurClips(length=4, crop=32), None, batch_size=2, num_workers=1)
    assert not clips.train_dataloader().persistent_workers  # set_epoch must reach fresh workers


def test_bad_render_on() -> None:
    with pytest.raises(ValueError, match=r"data.render_on: expected one of \['auto', 'cpu', 'device'\], got 'gpu'"):
        DataModule(None, None, render_on="gpu")
    tensors = DataModule(lambda: TensorDataset(torch.zeros(4, 1)), None, render_on="device")
    with pytest.raises(ValueError, match="data.render_on=device: the training data set TensorDataset cannot render"):
        tensors.train_dataloader()
