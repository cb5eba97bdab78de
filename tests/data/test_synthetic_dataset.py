"""SyntheticBlurClips: item contract, determinism, workers, argument validation, configs, preview."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from flowdeblur.build import build_dataset
from flowdeblur.config import CONF_DIR
from flowdeblur.data.preview import save_preview
from flowdeblur.data.synthetic import SyntheticBlurClips

CONF = CONF_DIR / "data"
WINDOW = {"num_frames": 3, "target": None}  # the model config's window, which the data configs read


def tiny(split: str = "train", **kwargs: object) -> SyntheticBlurClips:
    options = {"length": 4, "crop": 48, "blur_subframes": 5} | kwargs
    return SyntheticBlurClips(split, **options)


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])), key


def test_item_shapes_dtypes_ranges() -> None:
    dataset = SyntheticBlurClips("val", length=3, num_frames=4, target=1, crop=(40, 56), blur_subframes=3)
    assert len(dataset) == 3
    item = dataset[2]
    assert item["blurry"].shape == item["sharp"].shape == (4, 3, 40, 56)
    assert item["flow"].shape == (3, 2, 40, 56)
    assert item["mask"].shape == (1, 40, 56)
    for key in ("blurry", "sharp", "flow", "mask"):
        assert item[key].dtype == torch.float32, key
    for key in ("blurry", "sharp"):
        assert 0.0 <= item[key].min() and item[key].max() <= 1.0
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0}
    assert (item["target"], item["index"], item["clip"]) == (1, 2, 2)


def test_default_target_is_middle_frame() -> None:
    assert tiny(num_frames=5)[0]["target"] == 2
    assert tiny(num_frames=2)[0]["target"] == 1


def test_same_sample_twice_and_in_any_order() -> None:
    dataset = tiny()
    first = [dataset[i] for i in range(3)]
    for i in (2, 0, 1):
        assert_same(dataset[i], first[i])
    assert not torch.equal(first[0]["sharp"], first[1]["sharp"])


def test_train_changes_with_epoch_and_seed_val_does_not() -> None:
    train, val = tiny(), tiny("val")
    before_train, before_val = train[0], val[0]
    train.set_epoch(1)
    val.set_epoch(1)
    assert not torch.equal(train[0]["sharp"], before_train["sharp"])
    assert_same(val[0], before_val)
    train.set_epoch(0)
    assert_same(train[0], before_train)
    assert not torch.equal(tiny(seed=1)[0]["sharp"], before_train["sharp"])


def test_splits_differ_at_the_same_index() -> None:
    assert not torch.equal(tiny("val")[0]["sharp"], tiny("test")[0]["sharp"])


def test_two_workers_equal_zero_workers() -> None:
    dataset = tiny(noise_std=0.01)
    serial = list(DataLoader(dataset, batch_size=2, num_workers=0))
    parallel = list(DataLoader(dataset, batch_size=2, num_workers=2))
    assert len(serial) == len(parallel) == 2
    for a, b in zip(serial, parallel, strict=True):
        assert_same(a, b)


def test_noise_changes_only_blurry_frames() -> None:
    clean, noisy = tiny("val")[1], tiny("val", noise_std=0.02)[1]
    assert torch.equal(clean["sharp"], noisy["sharp"]) and torch.equal(clean["flow"], noisy["flow"])
    residual = (noisy["blurry"] - clean["blurry"]).std().item()
    assert residual == pytest.approx(0.02, rel=0.2)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"split": "training"}, "split"),
        ({"length": 0}, "length"),
        ({"num_frames": 1}, "num_frames"),
        ({"target": 3}, "target"),
        ({"target": -1}, "target"),
        ({"crop": 8}, "crop"),
        ({"crop": (64, 15)}, "crop"),
        ({"blur_subframes": 4}, "blur_subframes"),
        ({"blur_subframes": 0}, "blur_subframes"),
        ({"max_objects": -1}, "max_objects"),
        ({"max_speed": -0.5}, "max_speed"),
        ({"camera_motion_prob": 1.5}, "camera_motion_prob"),
        ({"motion_threshold": -1.0}, "motion_threshold"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_arguments_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{option} must be"):
        SyntheticBlurClips(**({"length": 2} | kwargs))


def test_synthesis_leaves_the_thread_count_alone() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        tiny()[0]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_index_out_of_range() -> None:
    with pytest.raises(IndexError):
        tiny()[4]


@pytest.mark.parametrize("name", ["synthetic", "synthetic_tiny"])
def test_config_instantiates_every_split(name: str) -> None:
    cfg = OmegaConf.create({"seed": 0, "model": WINDOW, "data": OmegaConf.load(CONF / f"{name}.yaml")})
    for split in ("train", "val", "test"):
        dataset = build_dataset(cfg.data, split, length=1)
        assert isinstance(dataset, SyntheticBlurClips) and dataset.split == split
        assert dataset.target == WINDOW["num_frames"] // 2
        assert dataset[0]["blurry"].shape[0] == WINDOW["num_frames"]


@pytest.mark.parametrize("name", ["synthetic", "synthetic_tiny"])
def test_config_split_resolves_without_the_others(name: str) -> None:
    """Evaluation keeps one split and sets the others to null; the kept split must not refer to them."""
    cfg = OmegaConf.create({"seed": 0, "model": WINDOW, "data": OmegaConf.load(CONF / f"{name}.yaml")})
    cfg.data.update({"train": None, "val": None})
    dataset = build_dataset(cfg.data, "test", length=1)
    assert dataset.blur_subframes == cfg.data.blur_subframes and dataset.max_speed == cfg.data.max_speed


def test_preview_png(tmp_path: Path) -> None:
    path = tmp_path / "preview.png"
    save_preview(tiny(num_frames=3), [0, 1], str(path))
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (2 * (48 + 2), 7 * (48 + 2))
