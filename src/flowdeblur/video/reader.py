"""Frame sources: a video file (decoded by PyAV) or a folder of frames, read one frame at a time.

Both yield (3, H, W) float32 RGB in [0, 1] and know their size; videos also their frame rate. Opening a source
decodes its first frame, so an unreadable input fails before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import torch
from torch import Tensor

from flowdeblur.data.images import FrameError, list_images, read_image

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm")


class VideoReader:
    """A video file's first video stream; ``fps``: its average frame rate; ``count``: frames, if known."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.names: list[str] | None = None
        try:
            self.container = av.open(str(path))
            stream = self.container.streams.video[0]
            self.fps: Fraction | None = stream.average_rate or stream.guessed_rate
            self.count: int | None = stream.frames or None
            self.decoded = self.container.decode(stream)
            self.first = next(self.decoded)
        except StopIteration:
            self.close()
            raise FrameError(f"{path}: the video has no frames; expected at least one frame") from None
        except (av.FFmpegError, IndexError, OSError) as err:
            self.close()
            raise FrameError(
                f"{path}: not a readable video (expected an mp4/mov/avi/mkv file with a video stream): {err}"
            ) from err
        self.size = (self.first.height, self.first.width)

    def __iter__(self) -> Iterator[Tensor]:
        yield _to_tensor(self.first.to_ndarray(format="rgb24"))
        try:
            for frame in self.decoded:
                yield _to_tensor(frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as err:
            raise FrameError(f"{self.path}: decoding failed (corrupt or truncated video?): {err}") from err

    def close(self) -> None:
        if hasattr(self, "container"):
            self.container.close()


class FolderReader:
    """The image files of one folder, in natural order; ``names`` are their stems; no frame rate."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = list_images(path)
        if not self.files:
            raise FrameError(f"{path}: no frames; expected image files (png, jpg, ...) directly inside")
        self.first = read_image(self.files[0])
        self.size = tuple(self.first.shape[-2:])
        self.names = [f.stem for f in self.files]
        self.fps: Fraction | None = None
        self.count: int | None = len(self.files)

    def __iter__(self) -> Iterator[Tensor]:
        yield self.first
        for file in self.files[1:]:
            frame = read_image(file)
            if tuple(frame.shape[-2:]) != self.size:
                raise FrameError(f"{file}: is {tuple(frame.shape[-2:])}; expected {self.size} as frame 0")
            yield frame

    def close(self) -> None:
        """Nothing to release."""


def open_reader(path: str | Path) -> VideoReader | FolderReader:
    """A reader for ``path``: a folder of frames or a video file."""
    path = Path(path)
    if path.is_dir():
        return FolderReader(path)
    if not path.is_file():
        raise FrameError(f"{path}: no such file or folder; expected a video file or a folder of frames")
    return VideoReader(path)


def _to_tensor(rgb: object) -> Tensor:
    """(H, W, 3) uint8 array -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div(255)
