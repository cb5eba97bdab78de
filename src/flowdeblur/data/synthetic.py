"""Default data set: dynamic-scene blur clips synthesized on the fly from photos shipped with installed
packages.

Each sample is an independent clip of ``num_frames`` frames of a random scene (:mod:`flowdeblur.data.scene`)
whose motion is given on a time base of ``N = blur_subframes`` sub-frames per frame: frame ``i`` is exposed
over sub-frame times ``i*N .. i*N+N-1``. The exposure is rendered at ``M >= N`` evenly spaced times (temporal
supersampling, ``M`` odd and chosen per clip so that no point moves more than ``max_subframe_motion`` px
between consecutive renders): blurry frame ``i`` is their mean in linear light, a continuous streak rather than
a comb of ghost copies, with sensor noise (:mod:`flowdeblur.data.noise`), and sharp frame ``i`` is the
noise-free middle render. Samples are a pure function of
``(seed, split, epoch, index)`` (the epoch only for ``train``), so any worker count or order gives the same
data.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from flowdeblur.data.groundtruth import ground_truth_flow, motion_mask
from flowdeblur.data.noise import DEFAULT_SHOT, sensor_noise
from flowdeblur.data.photos import SPLIT_PHOTOS, split_photos
from flowdeblur.data.render import expose, render_subframes
from flowdeblur.data.scene import Scene, sample_scene, step_motion
from flowdeblur.network import default_target

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run the enclosed torch ops with one intra-op thread, then restore the previous count.

    A clip is ~200 small ops that extra threads do not speed up; on a busy machine their barriers stall
    (measured on a shared 2-core machine: ~20 ms per 128 px clip with one thread, 450+ ms with two).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _crop_size(crop: int | Sequence[int]) -> tuple[int, int]:
    size = (crop, crop) if isinstance(crop, int) else tuple(crop)
    if len(size) != 2 or not all(isinstance(v, int) and v >= 16 for v in size):
        raise ValueError(
            f"SyntheticBlurClips: crop must be an int >= 16 or a pair (height, width) of ints >= 16, got {crop!r}"
        )
    return size


class SyntheticBlurClips(Dataset):
    """Synthetic blurry/sharp clips with exact flow and moving-region mask.

    Args:
        split: ``train``, ``val`` or ``test``; each has its own source photos (:mod:`flowdeblur.data.photos`).
        length: number of clips (one clip per index).
        num_frames: frames per clip, T >= 2.
        target: index of the frame to restore, in ``[0, T)``; None = :func:`~flowdeblur.network.default_target`.
        crop: frame size, an int (square) or (height, width); every side >= 16.
        blur_subframes: sub-frames per frame interval, N (odd, >= 1): the time base of ``max_speed``; each frame
            is exposed for the whole interval.
        max_subframe_motion: px; the exposure is rendered at enough times (M >= N, odd) that no point moves
            more than this between consecutive renders (0 renders exactly N sub-frames).
        max_objects: moving foreground objects per clip, drawn from ``[0, max_objects]`` (from
            ``[1, max_objects]`` when the camera is still).
        max_speed: px per sub-frame; camera and object speeds are drawn up to it (each ramps by up to ±40 %
            over the clip). A speed ``v`` blurs by about ``v * N`` px and moves ``v * N`` px frame to frame.
        camera_motion_prob: probability that the camera moves (translation, rotation, zoom); otherwise it is
            exactly still and only objects move.
        motion_threshold: px; pixels moving more than this during the target's exposure are 1 in ``mask``.
        noise: sensor noise on the blurry frames, ``poisson_gaussian`` (default) or ``none``
            (:mod:`flowdeblur.data.noise`); the sharp frames are always noise-free.
        noise_shot: (low, high) range of the shot-noise gain ``a`` (variance a·x + b in linear light).
        noise_read: read-noise variance ``b``; None: from ``a`` (:func:`flowdeblur.data.noise.read_variance`).
        noise_std: std of extra signal-independent Gaussian noise added to the blurry frames in sRGB, on top of
            ``noise`` (default 0). With ``noise="none"`` and 0, static pixels of the blurry input equal the
            sharp target exactly (the earlier data).
        photos: photo set, ``wide`` (default) or ``legacy`` (the earlier 10 photos).
        seed: base seed.

    Each item is a dict: ``blurry``, ``sharp`` (T, 3, H, W) float32 in [0, 1]; ``flow`` (T - 1, 2, H, W) from
    the target's sharp frame to each other frame's sharp frame in window order (backward-warping convention of
    :func:`flowdeblur.ops.warp.warp`); ``mask`` (1, H, W) float32 in {0, 1}, 1 = moving
    (:mod:`flowdeblur.data.groundtruth`); ``target``, ``index``, ``clip`` ints.
    """

    def __init__(
        self,
        split: str = "train",
        length: int = 1000,
        num_frames: int = 3,
        target: int | None = None,
        crop: int | Sequence[int] = 128,
        blur_subframes: int = 9,
        max_objects: int = 3,
        max_speed: float = 3.0,
        max_subframe_motion: float = 1.2,
        camera_motion_prob: float = 0.5,
        motion_threshold: float = 1.0,
        noise: str = "poisson_gaussian",
        noise_shot: Sequence[float] = DEFAULT_SHOT,
        noise_read: float | None = None,
        noise_std: float = 0.0,
        photos: str = "wide",
        seed: int = 0,
    ) -> None:
        def check(ok: bool, name: str, expected: str, value: Any) -> None:
            if not ok:
                raise ValueError(f"SyntheticBlurClips: {name} must be {expected}, got {value!r}")

        check(split in SPLIT_PHOTOS, "split", f"one of {sorted(SPLIT_PHOTOS)}", split)
        check(isinstance(length, int) and length >= 1, "length", "an int >= 1", length)
        check(isinstance(num_frames, int) and num_frames >= 2, "num_frames", "an int >= 2", num_frames)
        target = default_target(num_frames) if target is None else target
        check(
            isinstance(target, int) and 0 <= target < num_frames,
            "target",
            f"None or an int in [0, {num_frames - 1}] (inside the window of {num_frames} frames)",
            target,
        )
        self.size = _crop_size(crop)
        check(
            isinstance(blur_subframes, int) and blur_subframes >= 1 and blur_subframes % 2 == 1,
            "blur_subframes",
            "an odd int >= 1 (the sharp frame is the middle sub-frame)",
            blur_subframes,
        )
        check(isinstance(max_objects, int) and max_objects >= 0, "max_objects", "an int >= 0", max_objects)
        check(max_speed >= 0, "max_speed", "a number >= 0 (px per sub-frame)", max_speed)
        check(max_subframe_motion >= 0, "max_subframe_motion", "a number >= 0 (px)", max_subframe_motion)
        check(0 <= camera_motion_prob <= 1, "camera_motion_prob", "a number in [0, 1]", camera_motion_prob)
        check(motion_threshold >= 0, "motion_threshold", "a number >= 0 (px)", motion_threshold)
        check(noise_std >= 0, "noise_std", "a number >= 0", noise_std)
        check(isinstance(seed, int) and seed >= 0, "seed", "an int >= 0", seed)
        self.split, self.length, self.num_frames, self.target = split, length, num_frames, target
        self.blur_subframes, self.max_objects, self.max_speed = blur_subframes, max_objects, float(max_speed)
        self.max_subframe_motion = float(max_subframe_motion)
        self.camera_motion_prob, self.motion_threshold = float(camera_motion_prob), float(motion_threshold)
        self.noise_std, self.seed = float(noise_std), seed
        self.noise = sensor_noise(noise, noise_shot, noise_read)
        self.epoch = 0
        self.photos = split_photos(split, photos)

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Draw a fresh set of clips for ``epoch`` (train split only; val and test are fixed)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator that fully determines clip ``index`` (for the current epoch when training)."""
        epoch = self.epoch if self.split == "train" else 0
        return np.random.default_rng([self.seed, _SPLIT_IDS[self.split], epoch, index])

    def scene(self, rng: np.random.Generator, times: np.ndarray | None = None) -> Scene:
        """The scene ``rng`` draws, posed at sub-frame ``times`` (default: the N sub-frames of every frame)."""
        n = self.blur_subframes
        return sample_scene(
            rng,
            self.photos,
            self.size,
            self.num_frames * n,
            self.target * n + n // 2,
            self.max_objects,
            self.max_speed,
            self.camera_motion_prob,
            times,
        )

    def clip_scene(self, rng: np.random.Generator) -> tuple[Scene, int]:
        """The scene ``rng`` draws, posed at its T * M render times, and M (renders per exposure)."""
        n = self.blur_subframes
        m = self.renders_per_frame(copy.deepcopy(rng))
        times = np.concatenate([np.linspace(i * n, i * n + n - 1, m) for i in range(self.num_frames)])
        return self.scene(rng, times), m

    def renders_per_frame(self, rng: np.random.Generator) -> int:
        """M: renders per exposure for the scene ``rng`` draws (odd, >= N), from its motion per sub-frame."""
        n = self.blur_subframes
        if self.max_subframe_motion == 0 or n == 1:
            return n
        probe = self.scene(rng)
        gaps = math.ceil((n - 1) * step_motion(probe, self.size) / self.max_subframe_motion)
        return max(n, gaps + 1 + gaps % 2)

    def __getitem__(self, index: int) -> dict[str, Tensor | int]:
        """Clip ``index`` -> dict of blurry, sharp, flow, mask, target, index, clip (class docstring)."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        with _one_thread():
            return self._synthesize(index)

    def _synthesize(self, index: int) -> dict[str, Tensor | int]:
        """Render clip ``index``: scene -> sub-frames -> blurry/sharp frames, flow and mask."""
        return self.render(index, *self.draw(index))

    def draw(self, index: int) -> tuple[Scene, int, np.random.Generator]:
        """Clip ``index``'s scene (textures on the CPU), M (renders per exposure) and its generator after the draw.

        :meth:`render` of these on any device gives the clip (:mod:`flowdeblur.data.device_stream`)."""
        rng = self.rng(index)
        scene, m = self.clip_scene(rng)
        return scene, m, rng

    def render(self, index: int, scene: Scene, m: int, rng: np.random.Generator) -> dict[str, Tensor | int]:
        """A drawn clip (:meth:`draw`) -> its sample, on the device of the scene's textures."""
        t = self.target
        subframes, coverage = render_subframes(scene, self.size, m)
        blurry, sharp = expose(subframes, m, None if self.noise is None else self.noise.sampler(rng))
        anchor = t * m + m // 2
        if self.noise_std > 0:
            noise = torch.Generator().manual_seed(int(rng.integers(2**62)))
            draws = torch.randn(blurry.shape, generator=noise).to(blurry.device)
            blurry = (blurry + self.noise_std * draws).clamp(0.0, 1.0)
        neighbours = [i * m + m // 2 for i in range(self.num_frames) if i != t]
        exposure = range(t * m, (t + 1) * m)
        return {
            "blurry": blurry,
            "sharp": sharp,
            "flow": ground_truth_flow(scene, coverage[t], self.size, anchor, neighbours),
            "mask": motion_mask(scene, coverage[t], self.size, anchor, exposure, self.motion_threshold),
            "target": t,
            "index": index,
            "clip": index,
        }
