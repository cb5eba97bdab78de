"""Source photos: all load offline, and train/val/test use disjoint photos."""

from __future__ import annotations

import itertools

import pytest
import torch

from flowdeblur.data.photos import SPLIT_PHOTOS, load_photo, split_photos
from flowdeblur.data.synthetic import SyntheticBlurClips


@pytest.mark.parametrize("name", [n for names in SPLIT_PHOTOS.values() for n in names])
def test_photo_loads_offline_as_uint8_rgb(name: str) -> None:
    photo = load_photo(name)
    assert photo.dtype == torch.uint8 and photo.shape[0] == 3 and min(photo.shape[1:]) >= 256
    assert photo.float().std() > 10


def test_fixed_assignment_is_disjoint() -> None:
    assert SPLIT_PHOTOS["val"] == ("chelsea", "coffee")
    assert SPLIT_PHOTOS["test"] == ("rocket", "grace_hopper")
    for a, b in itertools.combinations(SPLIT_PHOTOS, 2):
        assert not set(SPLIT_PHOTOS[a]) & set(SPLIT_PHOTOS[b]), (a, b)


def test_no_pixel_identical_photo_across_splits() -> None:
    fingerprints = {s: {(p.shape, int(p.long().sum())) for p in split_photos(s)} for s in SPLIT_PHOTOS}
    for a, b in itertools.combinations(fingerprints, 2):
        assert not fingerprints[a] & fingerprints[b], (a, b)


def test_datasets_draw_from_their_split_only() -> None:
    for split in SPLIT_PHOTOS:
        dataset = SyntheticBlurClips(split, length=1, crop=32)
        assert dataset.photos == split_photos(split)
        assert len(dataset.photos) == len(SPLIT_PHOTOS[split])


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="split"):
        split_photos("holdout")
