"""Natural colour photos for the synthetic clips, and their fixed train/val/test assignment.

Two photo sets (``data.photos``):

- ``wide`` (default): 24 photos committed under ``flowdeblur/data/photos/`` (downscaled copies of Debian
  wallpaper photos; authors and licences in ``photos/manifest.csv`` and docs/data.md) plus the 9 natural
  photos that ship in the wheels of scikit-image, matplotlib and scikit-learn. Test: 8 committed photos; val: 4
  committed photos; train: the other 12 committed photos and the 9 wheel photos.
- ``legacy``: the earlier 10 photos of scikit-image and matplotlib (train: astronaut, hubble_deep_field,
  immunohistochemistry, retina, the two stereo_motorcycle views; val: chelsea, coffee; test: rocket,
  grace_hopper), kept so that older results can be reproduced.

Splits are disjoint by photo within a set (the two stereo_motorcycle views show one scene and stay together in
train). Nothing is downloaded. A photo that fails to load is an error naming the photo and its file, never a
silent skip.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import cache
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

PHOTO_DIR = Path(__file__).with_name("photos")
MANIFEST = PHOTO_DIR / "manifest.csv"

_WHEEL_TRAIN = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "grace_hopper",
    "stereo_motorcycle_left",
    "stereo_motorcycle_right",
    "china",
    "flower",
)
PHOTO_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "wide": {
        "train": (
            "by_the_water",
            "cold_ripple",
            "grey_pier",
            "kite",
            "one_stands_out",
            "bridge",
            "fig_bowl",
            "analog_pattern",
            "free_bird",
            "friends",
            "dandelions",
            "sunset_hills",
            *_WHEEL_TRAIN,
        ),
        "val": ("fallen_leaf", "aitzgorri", "paint_brushes", "clock_face"),
        "test": (
            "evening_glow",
            "forest_path",
            "colorful_cups",
            "picos_de_europa",
            "mountain_stream",
            "dragonfly",
            "wine_cellar",
            "kleiber",
        ),
    },
    "legacy": {
        "train": (
            "astronaut",
            "hubble_deep_field",
            "immunohistochemistry",
            "retina",
            "stereo_motorcycle_left",
            "stereo_motorcycle_right",
        ),
        "val": ("chelsea", "coffee"),
        "test": ("rocket", "grace_hopper"),
    },
}
SPLIT_PHOTOS = PHOTO_SETS["wide"]

# Fraction of each side kept around the centre: retina's fundus disc has black corners.
_CENTRE_CROP = {"retina": 0.68}


class PhotoError(ValueError):
    """A source photo that is missing or does not decode to 8-bit RGB."""


@cache
def manifest() -> tuple[dict[str, str], ...]:
    """Rows of ``photos/manifest.csv``: file, package, original, author, license."""
    with MANIFEST.open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _committed(file: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        return np.asarray(iio.imread(PHOTO_DIR / file))

    return load


def _skimage(name: str, view: int | None = None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image = getattr(skimage.data, name)()
        return image if view is None else image[view]

    return load


def _sklearn(file: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(file))

    return load


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook
    import matplotlib.image

    return matplotlib.image.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), format="jpg")


_LOADERS: dict[str, Callable[[], np.ndarray]] = {
    **{Path(row["file"]).stem: _committed(row["file"]) for row in manifest()},
    "astronaut": _skimage("astronaut"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "stereo_motorcycle_left": _skimage("stereo_motorcycle", 0),
    "stereo_motorcycle_right": _skimage("stereo_motorcycle", 1),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "grace_hopper": _grace_hopper,
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
}


def photo_source(name: str) -> str:
    """Where photo ``name`` comes from: its committed file, or the package that ships it."""
    if f"{name}.jpg" in {row["file"] for row in manifest()}:
        return str(PHOTO_DIR / f"{name}.jpg")
    return {"grace_hopper": "matplotlib sample_data", "china": "scikit-learn", "flower": "scikit-learn"}.get(
        name, "skimage.data"
    )


@cache
def load_photo(name: str) -> Tensor:
    """Photo ``name`` -> (3, H, W) uint8 sRGB.

    Raises:
        PhotoError: naming the photo and its source when it is unknown, missing or not 8-bit RGB.
    """
    if name not in _LOADERS:
        raise PhotoError(f"photo {name!r}: unknown; expected one of {sorted(_LOADERS)}")
    try:
        image = np.ascontiguousarray(_LOADERS[name]()[..., :3])
    except Exception as error:  # any loader failure: missing file, decoder error, package data absent
        raise PhotoError(f"photo {name!r} ({photo_source(name)}) could not be loaded: {error}") from error
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise PhotoError(
            f"photo {name!r} ({photo_source(name)}): expected (H, W, 3) uint8 pixels, got {image.shape} {image.dtype}"
        )
    keep = _CENTRE_CROP.get(name, 1.0)
    h, w = image.shape[:2]
    top, left = round(h * (1 - keep) / 2), round(w * (1 - keep) / 2)
    image = image[top : h - top, left : w - left]
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def photo_names(split: str, photo_set: str = "wide") -> tuple[str, ...]:
    """Names of the photos of ``split`` in ``photo_set``, checked."""
    if photo_set not in PHOTO_SETS:
        raise ValueError(f"photos must be one of {sorted(PHOTO_SETS)}, got {photo_set!r}")
    if split not in PHOTO_SETS[photo_set]:
        raise ValueError(f"split must be one of {sorted(PHOTO_SETS[photo_set])}, got {split!r}")
    return PHOTO_SETS[photo_set][split]


@cache
def split_photos(split: str, photo_set: str = "wide") -> tuple[Tensor, ...]:
    """Photos of ``split`` in ``photo_set``, each (3, H, W) uint8 sRGB, in :data:`PHOTO_SETS` order.

    Raises:
        PhotoError: when any of them fails to load (:func:`load_photo`).
    """
    return tuple(load_photo(name) for name in photo_names(split, photo_set))
