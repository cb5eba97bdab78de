"""Folder data sets: discovery in every layout, pairing, windows at sequence ends, augmentation, bad input."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from flowdeblur.build import build_datamodule
from flowdeblur.data import layouts
from flowdeblur.data.folders import FolderClips, Frames, GoPro
from flowdeblur.data.images import FrameError, read_image
from flowdeblur.data.windows import window_indices
from tests.footage import frames_array, write_frames, write_pair
from tests.helpers import compose_config


def as_uint8(frames: torch.Tensor) -> np.ndarray:
    """(..., 3, H, W) float in [0, 1] -> (..., H, W, 3) uint8."""
    return (frames * 255).round().byte().movedim(-3, -1).numpy()


@pytest.fixture(scope="module")
def gopro_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("GOPRO_Large")
    splits = {"train": {"GOPR0372_07_00": 5, "GOPR0374_11_00": 4}, "test": {"GOPR0384_11_00": 6}}
    for split, seqs in splits.items():
        for k, (name, count) in enumerate(seqs.items()):
            seq = root / split / name
            write_pair(seq / "blur", seq / "sharp", count, seed=k)
            write_pair(seq / "blur_gamma", seq / "sharp_unused", count, seed=k + 7)
    return root


# ---- windows -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("center", "edge", "expected"),
    [
        (0, "reflect", [2, 1, 0, 1, 2]),
        (1, "reflect", [1, 0, 1, 2, 3]),
        (5, "reflect", [3, 4, 5, 4, 3]),
        (0, "replicate", [0, 0, 0, 1, 2]),
        (5, "replicate", [3, 4, 5, 5, 5]),
        (3, "reflect", [1, 2, 3, 4, 5]),
    ],
)
def test_window_indices_at_sequence_ends(center: int, edge: str, expected: list[int]) -> None:
    assert window_indices(center, 6, 5, 2, edge) == expected


def test_window_indices_reverse_target_first_and_tiny_sequences() -> None:
    assert window_indices(2, 6, 3, 1, reverse=True) == [3, 2, 1]
    assert window_indices(4, 6, 3, 0) == [4, 5, 4]
    assert window_indices(0, 1, 3, 1) == [0, 0, 0]
    assert window_indices(0, 2, 5, 2) == [0, 1, 0, 1, 0]
    with pytest.raises(ValueError, match="edge"):
        window_indices(0, 6, 3, 1, "wrap")


# ---- discovery in every layout -----------------------------------------------------------------------------


def test_gopro_discovery_counts_and_pairing(gopro_root: Path) -> None:
    train = layouts.gopro(gopro_root, "trainval")
    assert [s.name for s in train] == ["GOPR0372_07_00", "GOPR0374_11_00"]
    assert [len(s) for s in train] == [5, 4]
    assert all(b.name == s.name for seq in train for b, s in zip(seq.blurry, seq.sharp, strict=True))
    assert train[0].blurry[0] == gopro_root / "train" / "GOPR0372_07_00" / "blur" / "00000.png"
    gamma = layouts.gopro(gopro_root, "trainval", blur_dir="blur_gamma")
    assert gamma[0].blurry[0].parent.name == "blur_gamma" and gamma[0].sharp[0].parent.name == "sharp"
    with pytest.raises(ValueError, match="blur_dir"):
        layouts.gopro(gopro_root, "train", blur_dir="blurry")


def test_dvd_standard_split(tmp_path: Path) -> None:
    base = tmp_path / "quantitative_datasets"
    for k, name in enumerate([*layouts.DVD_TEST, "IMG_0001", "720p_240fps_1"]):
        write_pair(base / name / "input", base / name / "GT", 2, seed=k, suffix=".jpg", height=16, width=16)
    test, train = layouts.dvd(tmp_path, "test"), layouts.dvd(base, "trainval")
    assert sorted(s.name for s in test) == sorted(layouts.DVD_TEST)
    assert [s.name for s in train] == ["720p_240fps_1", "IMG_0001"]
    assert [s.name for s in layouts.dvd(base, "val")] == ["IMG_0001"]
    assert [s.name for s in layouts.dvd(base, "train")] == ["720p_240fps_1"]
    assert train[0].blurry[0].suffix == ".jpg" and train[0].sharp[0].parent.name == "GT"
    (base / "IMG_0037" / "input").rename(base / "IMG_0037" / "in")
    with pytest.raises(FrameError, match="IMG_0037/input: folder not found"):
        layouts.dvd(tmp_path, "test")


def test_reds_reds4_is_the_test_set_and_left_out_of_train(tmp_path: Path) -> None:
    for part, clips in {"train": ["000", "001", "011", "015", "020", "021"], "val": ["000", "005"]}.items():
        for k, clip in enumerate(clips):
            write_pair(
                tmp_path / f"{part}_blur" / clip, tmp_path / f"{part}_sharp" / clip, 2, seed=k, height=16, width=16
            )
    assert [s.name for s in layouts.reds(tmp_path, "train")] == ["001", "021"]
    assert [s.name for s in layouts.reds(tmp_path, "reds4")] == list(layouts.REDS4)
    val = layouts.reds(tmp_path, "val")
    assert [s.name for s in val] == ["000", "005"]
    assert val[0].sharp[0].parent == tmp_path / "val_sharp" / "000"
    with pytest.raises(FrameError, match="train_blur_comp"):
        layouts.reds(tmp_path, "train", blur_dir="blur_comp")


def test_bsd_splits(tmp_path: Path) -> None:
    for folder in ("train", "valid", "test"):
        seq = tmp_path / "BSD_2ms16ms" / folder / f"{folder}_seq"
        write_pair(seq / "Blur" / "RGB", seq / "Sharp" / "RGB", 3, seed=1, height=16, width=16)
    assert [s.name for s in layouts.bsd(tmp_path, "val")] == ["valid_seq"]
    test = layouts.bsd(tmp_path / "BSD_2ms16ms", "test")
    assert len(test[0]) == 3 and test[0].sharp[0].parts[-3:] == ("Sharp", "RGB", "00000.png")
    with pytest.raises(FrameError, match="BSD_1ms8ms"):
        layouts.bsd(tmp_path, "train", setup="1ms8ms")


def test_frames_one_folder_or_folder_of_folders(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", frames_array(3))
    single = layouts.frames(tmp_path / "clip")
    assert [(s.name, len(s), s.sharp) for s in single] == [("clip", 3, None)]
    write_frames(tmp_path / "clip2", frames_array(2))
    assert [(s.name, len(s)) for s in layouts.frames(tmp_path)] == [("clip", 3), ("clip2", 2)]
    sample = Frames(tmp_path)[4]
    assert "sharp" not in sample and sample["clip"] == 1 and sample["frame"] == 1
    assert np.array_equal(as_uint8(sample["blurry"][1]), frames_array(2)[1])


def test_natural_frame_order(tmp_path: Path) -> None:
    for i in (10, 2, 1):
        iio.imwrite(tmp_path / f"frame{i}.png", np.full((8, 8, 3), i, np.uint8))
    assert [p.name for p in layouts.frames(tmp_path)[0].blurry] == ["frame1.png", "frame2.png", "frame10.png"]


# ---- samples -----------------------------------------------------------------------------------------------


def test_samples_cover_every_frame_with_edge_windows(gopro_root: Path) -> None:
    data = GoPro(gopro_root, "trainval", num_frames=3)
    assert len(data) == 9
    seq = layouts.gopro(gopro_root, "trainval")[0]
    first, last = data[0], data[4]
    files = [iio.imread(p) for p in seq.blurry]
    assert np.array_equal(as_uint8(first["blurry"]), np.stack([files[1], files[0], files[1]]))
    assert np.array_equal(as_uint8(last["blurry"]), np.stack([files[3], files[4], files[3]]))
    assert np.array_equal(as_uint8(first["sharp"][1]), iio.imread(seq.sharp[0]))
    assert {k: first[k] for k in ("target", "index", "clip", "frame", "sequence_length", "sequence")} == {
        "target": 1,
        "index": 0,
        "clip": 0,
        "frame": 0,
        "sequence_length": 5,
        "sequence": "GOPR0372_07_00",
    }
    assert (data[5]["clip"], data[5]["frame"], data[5]["index"]) == (1, 0, 5)
    replicate = GoPro(gopro_root, "trainval", num_frames=3, edge="replicate")[0]
    assert np.array_equal(as_uint8(replicate["blurry"]), np.stack([files[0], files[0], files[1]]))
    assert len(GoPro(gopro_root, "trainval", frame_step=2)) == 3 + 2


def test_centre_crop_and_validation(gopro_root: Path) -> None:
    sample = GoPro(gopro_root, "test", crop=(16, 24))[2]
    full = GoPro(gopro_root, "test")[2]
    assert torch.equal(sample["blurry"], full["blurry"][..., 8:24, 8:32])
    assert torch.equal(sample["sharp"], full["sharp"][..., 8:24, 8:32])
    with pytest.raises(FrameError, match="smaller than the crop 64x64"):
        GoPro(gopro_root, "test", crop=64)[0]
    with pytest.raises(ValueError, match="target"):
        GoPro(gopro_root, "test", num_frames=3, target=3)
    with pytest.raises(ValueError, match="need a crop size"):
        GoPro(gopro_root, "test", augment=True)


def flips_matching(crop: np.ndarray, frame: np.ndarray) -> set[tuple[bool, bool]]:
    """The (vertical, horizontal) flips of ``frame`` of which ``crop`` is a crop."""
    h, w = crop.shape[:2]
    found = set()
    for fy in (False, True):
        for fx in (False, True):
            img = frame[:: -1 if fy else 1, :: -1 if fx else 1]
            if any(
                np.array_equal(img[y : y + h, x : x + w], crop)
                for y in range(img.shape[0] - h + 1)
                for x in range(img.shape[1] - w + 1)
            ):
                found.add((fy, fx))
    return found


def test_augmentation_is_shared_by_all_frames(tmp_path: Path) -> None:
    base = frames_array(1, 24, 28)[0] // 2
    frames = np.stack([base + 20 * k for k in range(4)]).astype(np.uint8)
    write_frames(tmp_path / "s" / "blur", frames)
    write_frames(tmp_path / "s" / "sharp", frames)
    seq = layouts.paired("s", tmp_path / "s" / "blur", tmp_path / "s" / "sharp")
    data = FolderClips([seq], num_frames=3, crop=16, augment=True)
    torch.manual_seed(0)
    orders, flips = set(), set()
    for _ in range(24):
        sample = data[1]
        blurry = sample["blurry"]
        assert blurry.shape == (3, 3, 16, 16) and torch.equal(blurry, sample["sharp"])
        # frame k is frame 1 + 20 (k - 1) everywhere: the same crop and flips were applied to every frame
        offsets = (blurry - blurry[1]) * 255 / 20
        assert torch.allclose(offsets, offsets[:, :1, :1, :1].expand_as(offsets), atol=1e-4)
        orders.add(tuple(offsets[:, 0, 0, 0].round().long().tolist()))
        matches = flips_matching(as_uint8(blurry[1]), frames[1])
        assert matches
        flips |= matches
    assert orders == {(-1, 0, 1), (1, 0, -1)}
    assert len(flips) == 4


def test_datamodule_batches_from_config(gopro_root: Path) -> None:
    cfg = compose_config(
        [
            "data=gopro",
            f"data.root={gopro_root}",
            "data.num_workers=0",
            "data.batch_size=2",
            "data.train.crop=16",
            "data.val.crop=16",
        ]
    )
    dm = build_datamodule(cfg)
    batch = next(iter(dm.train_dataloader()))
    assert batch["blurry"].shape == (2, 3, 3, 16, 16) and batch["sharp"].shape == (2, 3, 3, 16, 16)
    test = next(iter(dm.test_dataloader()))
    assert test["blurry"].shape == (1, 3, 3, 32, 40) and test["sequence"] == ["GOPR0384_11_00"]
    assert len(dm.dataset("val")) == 1 and len(dm.dataset("test")) == 6
    assert len(dm.dataset("train")) == 5  # GOPR0374_11_00 is held out for validation


# ---- bad input ---------------------------------------------------------------------------------------------


def test_missing_root_empty_sequence_and_count_mismatch(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match=f"{tmp_path / 'nowhere' / 'train'}: folder not found"):
        GoPro(tmp_path / "nowhere")
    write_pair(tmp_path / "train" / "a" / "blur", tmp_path / "train" / "a" / "sharp", 3, seed=0)
    (tmp_path / "train" / "b" / "blur").mkdir(parents=True)
    (tmp_path / "train" / "b" / "sharp").mkdir()
    with pytest.raises(FrameError, match=f"{tmp_path / 'train' / 'b' / 'blur'}: no frames"):
        layouts.gopro(tmp_path, "trainval")
    write_pair(tmp_path / "train" / "b" / "blur", tmp_path / "train" / "b" / "sharp", 3, seed=1)
    (tmp_path / "train" / "b" / "sharp" / "00002.png").unlink()
    with pytest.raises(FrameError, match="3 blurry frames in 'blur' but 2 sharp frames in 'sharp'"):
        layouts.gopro(tmp_path, "trainval")
    seq = tmp_path / "train" / "b"
    shutil.copy(seq / "blur" / "00002.png", seq / "sharp" / "00002.png")
    (seq / "blur" / "00001.png").rename(seq / "blur" / "x.png")
    with pytest.raises(FrameError, match="blur/x.png has no sharp frame of the same name"):
        layouts.gopro(tmp_path, "trainval")


def test_corrupt_and_truncated_images(tmp_path: Path) -> None:
    path = write_frames(tmp_path, frames_array(1))[0]
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(FrameError, match=f"{path}: not a readable image"):
        read_image(path)
    path.write_bytes(b"not an image")
    with pytest.raises(FrameError, match=f"{path}: not a readable image"):
        read_image(path)


def test_corrupt_frame_in_a_data_set_names_the_file(gopro_root: Path, tmp_path: Path) -> None:
    write_pair(tmp_path / "test" / "s" / "blur", tmp_path / "test" / "s" / "sharp", 3, seed=0)
    bad = tmp_path / "test" / "s" / "sharp" / "00001.png"
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(FrameError, match="sharp/00001.png: not a readable image"):
        GoPro(tmp_path, "test")[1]


def test_grayscale_16bit_and_alpha(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gray = frames_array(1)[0, ..., 0]
    iio.imwrite(tmp_path / "gray.png", gray)
    iio.imwrite(tmp_path / "gray16.png", gray.astype(np.uint16) * 257)
    rgba = np.dstack([frames_array(1)[0], np.full(gray.shape, 255, np.uint8)])
    iio.imwrite(tmp_path / "rgba.png", rgba)
    rgba[3, 4, 3] = 10
    iio.imwrite(tmp_path / "transparent.png", rgba)
    with caplog.at_level(logging.WARNING, logger="flowdeblur.data.images"):
        expected = torch.from_numpy(gray).float().div(255).expand(3, -1, -1)
        assert torch.equal(read_image(tmp_path / "gray.png"), expected)
        assert torch.allclose(read_image(tmp_path / "gray16.png"), expected, atol=1e-7)
        rgb = torch.from_numpy(rgba[..., :3]).permute(2, 0, 1) / 255
        assert torch.equal(read_image(tmp_path / "rgba.png"), rgb)
        read_image(tmp_path / "gray.png")
    notes = [r.getMessage() for r in caplog.records]
    assert sum("grayscale, repeated to RGB" in n for n in notes) == 1
    assert any("16-bit samples" in n for n in notes) and any("opaque alpha channel" in n for n in notes)
    with pytest.raises(FrameError, match="transparent.png: has transparency"):
        read_image(tmp_path / "transparent.png")


def test_frames_of_different_sizes_in_one_window(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", frames_array(3))
    iio.imwrite(tmp_path / "clip" / "00001.png", frames_array(1, 16, 16)[0])
    with pytest.raises(FrameError, match="differ in size"):
        Frames(tmp_path / "clip")[0]
