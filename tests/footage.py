"""Helpers for the real-footage tests: tiny frame folders in every layout, videos, and small checkpoints."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import imageio.v3 as iio
import numpy as np
import torch

from flowdeblur.build import build_module, to_container
from flowdeblur.infer import infer
from tests.helpers import TINY, compose_config

# a small network (the default composition with fewer channels) so that tests stay fast
SMALL_MODEL = ["model.deblurrer.channels=[8,8,16,16]", "model.deblurrer.blocks=1", "model.flow.channels=[8,8,8]"]


def frames_array(count: int, height: int = 32, width: int = 40, seed: int = 0) -> np.ndarray:
    """(count, H, W, 3) uint8 frames of a textured scene drifting by one pixel per frame."""
    rng = np.random.default_rng(seed)
    scene = rng.integers(0, 256, size=(height, width + count, 3), dtype=np.uint8)
    return np.stack([scene[:, i : i + width] for i in range(count)])


def write_frames(folder: Path, frames: np.ndarray, suffix: str = ".png") -> list[Path]:
    """Write frames as ``00000<suffix>``, ``00001<suffix>``, ...; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:05d}{suffix}" for i in range(len(frames))]
    for path, frame in zip(paths, frames, strict=True):
        iio.imwrite(path, frame)
    return paths


def write_pair(blur_dir: Path, sharp_dir: Path, count: int, seed: int, suffix: str = ".png", **size: int) -> None:
    """A sequence of ``count`` sharp frames and blurry versions (a 3-frame temporal mean) in two folders."""
    sharp = frames_array(count + 2, seed=seed, **size)
    blurry = ((sharp[:-2].astype(np.float32) + sharp[1:-1] + sharp[2:]) / 3).round().astype(np.uint8)
    write_frames(blur_dir, blurry, suffix)
    write_frames(sharp_dir, sharp[1:-1], suffix)


def encode(container: av.container.OutputContainer, stream: av.video.stream.VideoStream, frames: np.ndarray) -> None:
    """Encode RGB ``frames`` (N, H, W, 3) uint8 into ``stream`` and flush it."""
    for frame in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_video(path: Path, frames: np.ndarray, fps: int = 12) -> Path:
    """Lossless RGB H.264 (libx264rgb, qp 0): decodes back to exactly ``frames``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=Fraction(fps))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "rgb24"
        stream.options = {"qp": "0"}
        encode(container, stream, frames)
    return path


def read_video(path: Path) -> tuple[np.ndarray, Fraction]:
    """(N, H, W, 3) uint8 frames and the average frame rate of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        return frames, stream.average_rate


def save_checkpoint(path: Path, *overrides: str) -> Path:
    """A checkpoint of an untrained small network, structured as Lightning writes it (state_dict + config).

    The U-Net's output convolution is zero-initialised, so this network returns the blurry target exactly.
    """
    cfg = compose_config([*TINY, *SMALL_MODEL, *overrides], output_dir=path.parent)
    torch.manual_seed(0)
    module = build_module(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": {"config": to_container(cfg)}}, path)
    return path


def photo_clip(
    count: int, height: int = 48, width: int = 96, speed: int = 3, photo: str = "coffee", start: int = 0
) -> np.ndarray:
    """(count, H, W, 3) uint8 frames of a camera panning over a ``skimage.data`` photo by ``speed`` pixels per
    frame, each frame motion-blurred over its own displacement (mean of ``speed`` one-pixel shifts); ``start``
    is the horizontal offset of the first frame."""
    from skimage import data
    from skimage.transform import resize

    image = getattr(data, photo)()
    scene = resize(image, (height, width + speed * (count + 1) + start), anti_aliasing=True) * 255
    frames = []
    for i in range(count):
        left = start + speed * i
        frames.append(np.mean([scene[:, left + k : left + k + width] for k in range(max(speed, 1))], axis=0))
    return np.stack(frames).round().astype(np.uint8)


def write_yuv_video(path: Path, frames: np.ndarray, fps: int = 12, crf: int = 18, rotation: int = 0) -> Path:
    """H.264 4:2:0 at ``crf`` as a camera writes it (the RGB -> YUV conversion is swscale's default), optionally
    with a display-matrix ``rotation`` (degrees counter-clockwise) as phones store it."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        if rotation:
            stream.set_display_rotation(rotation)
        encode(container, stream, frames)
    return path


def save_mixing_checkpoint(path: Path, *overrides: str) -> Path:
    """Like :func:`save_checkpoint`, with every weight perturbed by Gaussian noise (std 0.1): the restored frame
    depends on every frame of its window, not only on the target (the initial network barely looks at them)."""
    save_checkpoint(path, *overrides)
    ckpt = torch.load(path, weights_only=True)
    generator = torch.Generator().manual_seed(1)
    for value in ckpt["state_dict"].values():
        if value.is_floating_point():
            value.add_(torch.randn(value.shape, generator=generator) * 0.1)
    torch.save(ckpt, path)
    return path


def run_infer(tmp_path: Path, ckpt: Path, *overrides: str) -> dict:
    """Run ``flowdeblur.infer`` in process on ``ckpt`` with ``overrides``; its run dir is ``tmp_path / run``."""
    cfg = compose_config([f"ckpt_path={ckpt}", *overrides], config_name="infer", output_dir=tmp_path / "run")
    return infer(cfg)
