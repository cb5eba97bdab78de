"""Validation never touches test data: for every real-data layout the default val split is disjoint from test
(and from train), validating on test is an explicit option that the run records."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowdeblur.build import build_datamodule
from flowdeblur.data import layouts
from flowdeblur.data.splits import check_validation_split
from tests.footage import frames_array, write_frames, write_pair
from tests.helpers import compose_config

SIZE = {"height": 16, "width": 16}


def gopro(root: Path) -> None:
    names = {"train": [f"GOPR03{k:02d}_11_00" for k in range(7)], "test": ["GOPR0384_11_00", "GOPR0410_11_00"]}
    for split, seqs in names.items():
        for k, name in enumerate(seqs):
            write_pair(root / split / name / "blur", root / split / name / "sharp", 2, seed=k, **SIZE)


def dvd(root: Path) -> None:
    base = root / "quantitative_datasets"
    for k, name in enumerate([*layouts.DVD_TEST, *(f"IMG_01{k:02d}" for k in range(8))]):
        write_pair(base / name / "input", base / name / "GT", 2, seed=k, suffix=".jpg", **SIZE)


def reds(root: Path) -> None:
    for part, clips in {"train": ["000", "001", "011", "015", "020", "021"], "val": ["000", "005"]}.items():
        for k, clip in enumerate(clips):
            write_pair(root / f"{part}_blur" / clip, root / f"{part}_sharp" / clip, 2, seed=k, **SIZE)


def bsd(root: Path) -> None:
    for folder in ("train", "valid", "test"):
        for k in range(2):
            seq = root / "BSD_2ms16ms" / folder / f"{k:03d}"  # the same names in every folder, as in BSD
            write_pair(seq / "Blur" / "RGB", seq / "Sharp" / "RGB", 2, seed=k, **SIZE)


def frames(root: Path) -> None:
    write_frames(root / "clip", frames_array(3, **SIZE))


LAYOUTS = {"gopro": gopro, "dvd": dvd, "reds": reds, "bsd": bsd, "frames": frames}


def split_files(root: Path, layout: str, *overrides: str) -> dict[str, set[Path]]:
    """Split -> the blurry frame files its data set reads, from the layout's data config."""
    LAYOUTS[layout](root)
    cfg = compose_config([f"data={layout}", f"data.root={root}", "data.num_workers=0", *overrides])
    dm = build_datamodule(cfg)
    return {
        split: {path for seq in dm.dataset(split).dataset.sequences for path in seq.blurry}
        for split in ("train", "val", "test")
        if cfg.data.get(split)
    }


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_default_validation_is_disjoint_from_test(tmp_path: Path, layout: str) -> None:
    files = split_files(tmp_path, layout)
    assert files["test"]
    if layout == "frames":
        assert set(files) == {"test"}  # no ground truth: nothing to validate on
        return
    assert files["val"] and files["train"]
    assert not files["val"] & files["test"] and not files["train"] & files["test"]
    assert not files["val"] & files["train"]
    cfg = compose_config([f"data={layout}", f"data.root={tmp_path}"])
    assert check_validation_split(cfg.data) == "val"


@pytest.mark.parametrize("layout", ["gopro", "dvd", "reds", "bsd"])
def test_validating_on_test_is_explicit_and_warned(tmp_path: Path, layout: str) -> None:
    files = split_files(tmp_path, layout, "data.val_split=test")
    assert files["val"] == files["test"]
    cfg = compose_config([f"data={layout}", f"data.root={tmp_path}", "data.val_split=test"])
    with pytest.warns(UserWarning, match="validating on the 'test' split"):
        assert check_validation_split(cfg.data) == "test"


@pytest.mark.parametrize(
    ("count", "positions"),
    [(22, [3, 11, 18]), (61, [3, 9, 15, 21, 27, 33, 39, 45, 51, 57]), (2, [1]), (7, [3]), (12, [3, 9])],
)
def test_held_out_positions_are_fixed_and_spread(count: int, positions: list[int]) -> None:
    assert layouts.holdout_positions(count, 6) == positions


def test_holding_out_needs_two_sequences(tmp_path: Path) -> None:
    write_pair(tmp_path / "train" / "a" / "blur", tmp_path / "train" / "a" / "sharp", 2, seed=0, **SIZE)
    with pytest.raises(layouts.FrameError, match="1 train sequence"):
        layouts.gopro(tmp_path, "val")
    assert [s.name for s in layouts.gopro(tmp_path, "trainval")] == ["a"]
    with pytest.raises(ValueError, match="val_every"):
        layouts.holdout_positions(10, 1)
