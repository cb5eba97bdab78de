"""Out-of-distribution check data: camera-shake clips blurred by kernel convolution (``data=synthetic_ood``).

Built independently of the scene renderer (:mod:`flowdeblur.data.render`, layers resampled by ``grid_sample``
and averaged): here a static photo is seen through a hand-held camera whose path is a random walk with inertia
(in the spirit of the camera-shake trajectories of Boracchi and Foi, "Modeling the performance of image
restoration from motion blur", IEEE TIP 2012) plus a slow pan. The exposure of frame ``i`` is the path's
``K`` positions during that frame, splatted bilinearly into a blur kernel and applied to the photo by FFT
convolution in linear light; its sharp frame is the photo at the exposure's middle position rounded to whole
pixels, so that sharp frames are exact crops and the ground-truth flow between them is an exact integer
translation. Blur is spatially uniform within a frame and changes from frame to frame; there are no moving
objects. Sensor noise (:mod:`flowdeblur.data.noise`) is added to the blurry frames as in the default data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from flowdeblur.data.color import decode_srgb8, linear_to_srgb
from flowdeblur.data.noise import DEFAULT_SHOT, sensor_noise
from flowdeblur.data.photos import photo_names, split_photos
from flowdeblur.data.synthetic import _crop_size, _one_thread
from flowdeblur.network import default_target

_SPLIT_IDS = {"train": 10, "val": 11, "test": 12}  # distinct from the scene renderer's streams
STEPS = 32  # path positions per exposure
INERTIA = 0.7  # velocity kept from one path step to the next


def shake_path(rng: np.random.Generator, frames: int, shake: float, pan: float) -> np.ndarray:
    """(frames, STEPS, 2) camera positions (x, y) in px: a random walk with inertia whose mean exposure path
    length is ``shake`` px, plus a pan of ``pan`` px per frame in a random direction."""
    steps = frames * STEPS
    velocity = np.zeros((steps, 2))
    kick = rng.normal(size=(steps, 2))
    for k in range(1, steps):
        velocity[k] = INERTIA * velocity[k - 1] + kick[k]
    path = np.cumsum(velocity, axis=0).reshape(frames, STEPS, 2)
    length = np.linalg.norm(np.diff(path, axis=1), axis=-1).sum(1).mean()
    path = path * (shake / max(length, 1e-9))
    angle = rng.uniform(0, 2 * np.pi)
    drift = pan * np.array([np.cos(angle), np.sin(angle)]) * np.arange(steps).reshape(frames, STEPS, 1) / STEPS
    return path + drift


def splat_kernel(offsets: np.ndarray, radius: int) -> Tensor:
    """(K, 2) offsets (x, y) in px, |offset| <= radius -> (2r+1, 2r+1) kernel, bilinear splats, sum 1."""
    side = 2 * radius + 1
    kernel = np.zeros((side, side))
    for x, y in offsets + radius:
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            weight = (fx if dx else 1 - fx) * (fy if dy else 1 - fy)
            kernel[min(y0 + dy, side - 1), min(x0 + dx, side - 1)] += weight
    return torch.from_numpy(kernel / kernel.sum()).float()


def correlate(image: Tensor, kernel: Tensor) -> Tensor:
    """(C, H, W), kernel (2r+1, 2r+1) -> (C, H - 2r, W - 2r): ``out(x) = sum_d kernel(d) image(x + r + d)``
    (valid part), by FFT."""
    _, h, w = image.shape
    r = kernel.shape[-1] // 2
    spectrum = torch.fft.rfft2(image) * torch.fft.rfft2(kernel.flip(0, 1), s=(h, w))
    return torch.fft.irfft2(spectrum, s=(h, w))[:, 2 * r :, 2 * r :]


class CameraShakeClips(Dataset):
    """Camera-shake blurry/sharp clips with exact (translational) flow: the out-of-distribution check.

    Args:
        split, length, num_frames, target, crop, photos, seed: as in
            :class:`~flowdeblur.data.synthetic.SyntheticBlurClips`.
        shake: (low, high) px, range of the camera path length during one exposure.
        pan: (low, high) px, range of the steady pan per frame interval.
        motion_threshold: px; ``mask`` is all 1 when the camera moves more than this during the target's
            exposure, else all 0.
        noise, noise_shot, noise_read: sensor noise (:mod:`flowdeblur.data.noise`).

    Items: the keys of :class:`~flowdeblur.data.synthetic.SyntheticBlurClips` with the same shapes and ranges.
    """

    def __init__(
        self,
        split: str = "test",
        length: int = 256,
        num_frames: int = 3,
        target: int | None = None,
        crop: int | Sequence[int] = 128,
        shake: Sequence[float] = (3.0, 14.0),
        pan: Sequence[float] = (0.0, 6.0),
        motion_threshold: float = 1.0,
        noise: str = "poisson_gaussian",
        noise_shot: Sequence[float] = DEFAULT_SHOT,
        noise_read: float | None = None,
        photos: str = "wide",
        seed: int = 0,
    ) -> None:
        def check(ok: bool, name: str, expected: str, value: object) -> None:
            if not ok:
                raise ValueError(f"CameraShakeClips: {name} must be {expected}, got {value!r}")

        photo_names(split, photos)
        check(isinstance(length, int) and length >= 1, "length", "an int >= 1", length)
        check(isinstance(num_frames, int) and num_frames >= 2, "num_frames", "an int >= 2", num_frames)
        target = default_target(num_frames) if target is None else target
        check(isinstance(target, int) and 0 <= target < num_frames, "target", f"in [0, {num_frames - 1}]", target)
        for name, pair in (("shake", shake), ("pan", pan)):
            check(len(pair) == 2 and 0 <= pair[0] <= pair[1], name, "a pair [low, high], 0 <= low <= high", pair)
        self.split, self.length, self.num_frames, self.target = split, int(length), num_frames, target
        self.size = _crop_size(crop)
        self.shake, self.pan = (float(shake[0]), float(shake[1])), (float(pan[0]), float(pan[1]))
        self.motion_threshold, self.seed = float(motion_threshold), seed
        self.noise = sensor_noise(noise, noise_shot, noise_read)
        self.photos = split_photos(split, photos)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Tensor | int]:
        """Clip ``index`` -> dict of blurry, sharp, flow, mask, target, index, clip."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        with _one_thread():
            return self._synthesize(index)

    def _canvas(self, rng: np.random.Generator, margin: int) -> Tensor:
        """(3, H + 2m, W + 2m) linear-light region of a random photo of the split, randomly flipped."""
        h, w = (side + 2 * margin for side in self.size)
        photo = self.photos[int(rng.integers(len(self.photos)))]
        _, hp, wp = photo.shape
        scale = min(1.0, hp / h, wp / w)
        rh, rw = min(hp, round(h * scale)), min(wp, round(w * scale))
        top, left = int(rng.integers(0, hp - rh + 1)), int(rng.integers(0, wp - rw + 1))
        region = decode_srgb8(photo[None, :, top : top + rh, left : left + rw])
        if (rh, rw) != (h, w):
            region = F.interpolate(region, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
        if rng.random() < 0.5:
            region = region.flip(-1)
        return region[0]

    def _synthesize(self, index: int) -> dict[str, Tensor | int]:
        rng = np.random.default_rng([self.seed, _SPLIT_IDS[self.split], index])
        path = shake_path(rng, self.num_frames, rng.uniform(*self.shake), rng.uniform(*self.pan))
        path -= np.round(path[self.target, STEPS // 2])
        centres = np.round(path[:, STEPS // 2])  # (T, 2) whole-pixel position of each sharp frame
        radius = int(np.ceil(np.abs(path - centres[:, None]).max())) + 1
        margin = int(np.abs(centres).max()) + radius
        canvas = self._canvas(rng, margin)
        h, w = self.size
        blurry, sharp = [], []
        for i, (cx, cy) in enumerate(centres.astype(int)):
            top, left = margin + cy - radius, margin + cx - radius
            window = canvas[:, top : top + h + 2 * radius, left : left + w + 2 * radius]
            blurry.append(correlate(window, splat_kernel(path[i] - centres[i], radius)).clamp(0.0, 1.0))
            sharp.append(window[:, radius : radius + h, radius : radius + w])
        linear = torch.stack(blurry)
        if self.noise is not None:
            linear = self.noise.sampler(rng)(linear)
        others = [j for j in range(self.num_frames) if j != self.target]
        flow = torch.tensor(centres[self.target] - centres[others], dtype=torch.float32)
        exposure = path[self.target] - path[self.target, STEPS // 2]
        moving = float(np.linalg.norm(exposure, axis=-1).max() > self.motion_threshold)
        return {
            "blurry": linear_to_srgb(linear),
            "sharp": linear_to_srgb(torch.stack(sharp)),
            "flow": flow.view(-1, 2, 1, 1).expand(-1, 2, h, w).contiguous(),
            "mask": torch.full((1, h, w), moving),
            "target": self.target,
            "index": index,
            "clip": index,
        }
