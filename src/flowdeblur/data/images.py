"""Reading frame files: one image -> (3, H, W) float32 RGB in [0, 1], or one clear error naming the file.

Accepted: 8-bit RGB (PNG, JPEG, BMP, TIFF, WebP). Converted, with one logged note per folder and kind:
grayscale (repeated to three channels), 16-bit samples (scaled by 1/65535), an alpha channel that is fully
opaque (dropped). Refused: an alpha channel with transparency, 1-bit and floating-point samples, any other
channel count, and files that do not decode (corrupt or truncated). Pillow, behind imageio, reads 16-bit
*colour* PNGs at 8 bits per channel already.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

log = logging.getLogger(__name__)
_noted: set[tuple[str, Path]] = set()


class FrameError(ValueError):
    """A frame file or folder that is missing, unreadable or not what was expected."""


def natural_key(path: Path) -> list[int | str]:
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (hidden files skipped), in natural order."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=natural_key)


def read_image(path: Path) -> Tensor:
    """Image file -> (3, H, W) float32 RGB in [0, 1].

    Raises:
        FrameError: naming the file and what was expected (see the module docstring).
    """
    try:
        array = np.asarray(iio.imread(path))
    except Exception as err:  # decoders raise OSError, ValueError, SyntaxError, ... for bad files
        raise FrameError(f"{path}: not a readable image (corrupt, truncated, not an image?): {err}") from err
    return torch.from_numpy(to_rgb(array, path)).permute(2, 0, 1).contiguous()


def to_rgb(array: np.ndarray, path: Path) -> np.ndarray:
    """(H, W) or (H, W, C) uint8/uint16 -> (H, W, 3) float32 in [0, 1]; converts or refuses as documented."""
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4):
        raise FrameError(f"{path}: expected an RGB image (H, W, 3), got an array of shape {array.shape}")
    if array.dtype == np.uint8:
        scale = 255.0
    elif array.dtype == np.uint16:
        scale = 65535.0
        _note("16-bit samples, scaled to [0, 1]", path)
    else:
        raise FrameError(f"{path}: expected 8- or 16-bit integer samples, got {array.dtype}")
    if array.shape[-1] in (2, 4):
        alpha = array[..., -1]
        if int(alpha.min()) != int(scale):
            raise FrameError(
                f"{path}: has transparency (alpha channel below fully opaque); expected opaque RGB frames: "
                "flatten the images onto a background first"
            )
        array = array[..., :-1]
        _note("fully opaque alpha channel, dropped", path)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
        _note("grayscale, repeated to RGB", path)
    return array.astype(np.float32) / scale


def _note(kind: str, path: Path) -> None:
    """Log one note per (kind, folder)."""
    key = (kind, path.parent)
    if key not in _noted:
        _noted.add(key)
        log.warning("%s: %s (noted once per folder)", path, kind)
