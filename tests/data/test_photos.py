"""Source photos: every one loads offline, the manifest matches the committed files, and train/val/test use
disjoint photos in every photo set."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from flowdeblur.data.photos import (
    MANIFEST,
    PHOTO_DIR,
    PHOTO_SETS,
    PhotoError,
    load_photo,
    manifest,
    photo_names,
    split_photos,
)
from flowdeblur.data.synthetic import SyntheticBlurClips

ALL_NAMES = sorted({n for splits in PHOTO_SETS.values() for names in splits.values() for n in names})
LICENCES = {"CC0-1.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "LGPL-3.0"}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_photo_loads_offline_as_uint8_rgb(name: str) -> None:
    photo = load_photo(name)
    assert photo.dtype == torch.uint8 and photo.shape[0] == 3 and min(photo.shape[1:]) >= 256
    assert photo.float().std() > 10


def test_manifest_lists_exactly_the_committed_files_with_a_redistributable_licence() -> None:
    rows = manifest()
    assert [r["file"] for r in rows] == sorted({r["file"] for r in rows}, key=[r["file"] for r in rows].index)
    assert {r["file"] for r in rows} == {p.name for p in PHOTO_DIR.glob("*.jpg")}
    assert len(rows) == 24
    for row in rows:
        assert row["license"] in LICENCES and row["author"] and row["original"].startswith("/usr/share/"), row
        assert row["package"] != "mate-backgrounds"
        photo = load_photo(Path(row["file"]).stem)
        assert max(photo.shape[1:]) <= 512 and (PHOTO_DIR / row["file"]).stat().st_size < 100_000
    assert sum(p.stat().st_size for p in PHOTO_DIR.iterdir()) < 3_000_000 and MANIFEST.is_file()


@pytest.mark.parametrize("photo_set", sorted(PHOTO_SETS))
def test_splits_are_disjoint(photo_set: str) -> None:
    splits = PHOTO_SETS[photo_set]
    assert set(splits) == {"train", "val", "test"}
    for a, b in itertools.combinations(splits, 2):
        assert not set(splits[a]) & set(splits[b]), (a, b)
    for names in splits.values():
        assert len(set(names)) == len(names)


def test_wide_set_test_split_is_held_out_and_larger() -> None:
    wide = PHOTO_SETS["wide"]
    assert len(wide["test"]) >= 8 and len(wide["val"]) >= 4
    assert not set(wide["test"]) & (set(wide["train"]) | set(wide["val"]))
    assert len(wide["train"]) >= 3 * len(PHOTO_SETS["legacy"]["train"])
    assert PHOTO_SETS["legacy"]["test"] == ("rocket", "grace_hopper")


@pytest.mark.parametrize("photo_set", sorted(PHOTO_SETS))
def test_no_pixel_identical_photo_across_splits(photo_set: str) -> None:
    prints = {s: {(p.shape, int(p.long().sum())) for p in split_photos(s, photo_set)} for s in PHOTO_SETS[photo_set]}
    for a, b in itertools.combinations(prints, 2):
        assert not prints[a] & prints[b], (a, b)


def test_datasets_draw_from_their_split_and_set_only() -> None:
    for photo_set, splits in PHOTO_SETS.items():
        for split, names in splits.items():
            dataset = SyntheticBlurClips(split, length=1, crop=32, photos=photo_set)
            assert dataset.photos == split_photos(split, photo_set) and len(dataset.photos) == len(names)


def test_unknown_split_set_or_photo() -> None:
    with pytest.raises(ValueError, match="split"):
        split_photos("holdout")
    with pytest.raises(ValueError, match="photos must be one of"):
        photo_names("train", "tiny")
    with pytest.raises(PhotoError, match="'nope': unknown"):
        load_photo("nope")


def test_a_photo_that_fails_to_load_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import flowdeblur.data.photos as photos

    monkeypatch.setattr(photos, "PHOTO_DIR", tmp_path)
    (tmp_path / "kite.jpg").write_bytes(b"not a jpeg")
    load_photo.cache_clear()
    split_photos.cache_clear()
    try:
        with pytest.raises(PhotoError, match=r"photo 'kite' \(.*kite\.jpg\) could not be loaded"):
            load_photo("kite")
        with pytest.raises(PhotoError, match=r"photo 'by_the_water' \(.*by_the_water\.jpg\) could not be loaded"):
            split_photos("train")
    finally:
        load_photo.cache_clear()
        split_photos.cache_clear()
