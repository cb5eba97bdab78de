"""The out-of-distribution camera-shake clips: item contract, exact translational flow, realistic blur level,
determinism, and the config."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from flowdeblur.build import build_dataset
from flowdeblur.config import CONF_DIR
from flowdeblur.data.shake import CameraShakeClips, correlate, splat_kernel
from flowdeblur.ops.warp import warp


def input_psnr(item: dict) -> float:
    t = item["target"]
    return float(-10 * torch.log10(((item["blurry"][t] - item["sharp"][t]) ** 2).mean().clamp_min(1e-10)))


def test_items_have_the_default_data_contract() -> None:
    item = CameraShakeClips("val", length=2, num_frames=4, target=1, crop=(40, 56))[1]
    assert item["blurry"].shape == item["sharp"].shape == (4, 3, 40, 56)
    assert item["flow"].shape == (3, 2, 40, 56) and item["mask"].shape == (1, 40, 56)
    for key in ("blurry", "sharp", "flow", "mask"):
        assert item[key].dtype == torch.float32, key
    for key in ("blurry", "sharp"):
        assert 0.0 <= item[key].min() and item[key].max() <= 1.0
    assert (item["target"], item["index"], item["clip"]) == (1, 1, 1)


def test_flow_warps_each_sharp_neighbour_onto_the_target_exactly() -> None:
    item = CameraShakeClips("test", length=4, crop=64, pan=(4.0, 6.0))[2]
    t, others = item["target"], [0, 2]
    assert item["flow"].abs().amax() >= 1.0
    for k, j in enumerate(others):
        shift = int(item["flow"][k].abs().amax())
        warped, _ = warp(item["sharp"][j][None], item["flow"][k][None])
        inner = slice(shift, 64 - shift)
        assert torch.allclose(warped[0][:, inner, inner], item["sharp"][t][:, inner, inner], atol=1e-5)


def test_input_psnr_is_in_a_realistic_band_and_grows_with_less_motion() -> None:
    strong = [input_psnr(CameraShakeClips("test", length=12, crop=96)[i]) for i in range(12)]
    mean = sum(strong) / len(strong)
    assert 22.0 <= mean <= 30.0 and min(strong) < mean - 2 and max(strong) > mean + 2
    still = CameraShakeClips("test", length=12, crop=96, shake=(1.0, 2.0), pan=(0.0, 0.0))
    mild = [input_psnr(still[i]) for i in range(12)]
    assert sum(mild) / len(mild) > mean + 4


def test_kernel_sums_to_one_and_a_delta_kernel_copies_the_image() -> None:
    kernel = splat_kernel(torch.tensor([[0.25, -1.5], [2.0, 0.0]]).numpy(), radius=3)
    assert kernel.shape == (7, 7) and kernel.sum() == pytest.approx(1.0)
    image = torch.rand(3, 20, 24)
    delta = splat_kernel(torch.tensor([[1.0, -2.0]]).numpy(), radius=3)
    assert torch.allclose(correlate(image, delta), image[:, 1:15, 4:22], atol=1e-5)


def test_clips_are_a_function_of_seed_and_index() -> None:
    a, b = CameraShakeClips("val", length=3, crop=48), CameraShakeClips("val", length=3, crop=48)
    assert torch.equal(a[2]["blurry"], b[2]["blurry"])
    assert not torch.equal(a[1]["sharp"], a[2]["sharp"])
    assert not torch.equal(CameraShakeClips("val", length=3, crop=48, seed=1)[2]["sharp"], a[2]["sharp"])


def test_config_instantiates_every_split() -> None:
    data = OmegaConf.load(CONF_DIR / "data" / "synthetic_ood.yaml")
    cfg = OmegaConf.create({"seed": 0, "model": {"num_frames": 3, "target": None}, "data": data})
    for split in ("train", "val", "test"):
        dataset = build_dataset(cfg.data, split, length=1)
        assert isinstance(dataset, CameraShakeClips) and dataset.split == split
        assert dataset[0]["blurry"].shape == (3, 3, 128, 128)


@pytest.mark.parametrize(("kwargs", "option"), [({"shake": (5.0, 2.0)}, "shake"), ({"target": 3}, "target")])
def test_bad_options_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{option} must be"):
        CameraShakeClips("test", length=1, **kwargs)
