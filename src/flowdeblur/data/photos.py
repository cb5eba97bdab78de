"""Natural colour photos shipped inside installed packages, and their fixed train/val/test assignment.

Sources: scikit-image's ``skimage.data`` colour photos and matplotlib's ``grace_hopper.jpg`` sample. Both
packages are dependencies and ship the files in their wheels, so nothing is downloaded. A photo that fails to
load is skipped with a warning; a split left with no photo is an error.

Assignment (disjoint; the two stereo_motorcycle views show the same scene and stay together in train):

- train: astronaut, hubble_deep_field, immunohistochemistry, retina, stereo_motorcycle_left,
  stereo_motorcycle_right
- val: chelsea, coffee
- test: rocket, grace_hopper
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache

import numpy as np
import torch
from torch import Tensor

SPLIT_PHOTOS: dict[str, tuple[str, ...]] = {
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
}

# Fraction of each side kept around the centre: retina's fundus disc has black corners.
_CENTRE_CROP = {"retina": 0.68}


def _skimage(name: str, view: int | None = None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image = getattr(skimage.data, name)()
        return image if view is None else image[view]

    return load


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook
    import matplotlib.image

    return matplotlib.image.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), format="jpg")


_LOADERS: dict[str, Callable[[], np.ndarray]] = {
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
}


@cache
def load_photo(name: str) -> Tensor:
    """Photo ``name`` -> (3, H, W) uint8 sRGB. Raises whatever the loader raises when it is unavailable."""
    image = np.ascontiguousarray(_LOADERS[name]()[..., :3])
    if image.dtype != np.uint8:
        raise TypeError(f"photo {name!r}: expected uint8 pixels, got {image.dtype}")
    keep = _CENTRE_CROP.get(name, 1.0)
    h, w = image.shape[:2]
    top, left = round(h * (1 - keep) / 2), round(w * (1 - keep) / 2)
    image = image[top : h - top, left : w - left]
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


@cache
def split_photos(split: str) -> tuple[Tensor, ...]:
    """Photos of ``split`` that load offline, each (3, H, W) uint8 sRGB, in :data:`SPLIT_PHOTOS` order."""
    if split not in SPLIT_PHOTOS:
        raise ValueError(f"split must be one of {sorted(SPLIT_PHOTOS)}, got {split!r}")
    photos = []
    for name in SPLIT_PHOTOS[split]:
        try:
            photos.append(load_photo(name))
        except Exception as error:  # any loader failure means the photo is unavailable
            warnings.warn(f"photo {name!r} skipped: {error}", stacklevel=2)
    if not photos:
        raise RuntimeError(f"no photo of split {split!r} could be loaded: {SPLIT_PHOTOS[split]}")
    return tuple(photos)
