"""Frame sources: a video file (decoded by PyAV) or a folder of frames, read one frame at a time.

Both yield (3, H, W) float32 RGB in [0, 1] and know their size; videos also their frame rate. Opening a source
decodes its first frame, so an unreadable input fails before anything is written. ``skip`` frames at the start
are passed over (decoded but not converted, for videos).

Videos are converted to RGB by swscale with accurate rounding and interpolated chroma (:data:`TO_RGB`), in the
frame's own colour matrix and range: swscale's default YUV 4:2:0 -> RGB path darkens every channel by 1.0-1.5/255
on average (a restored video written back would come out that much darker than its input). A rotation in the
stream's display matrix (phone clips) is applied, so frames come out upright.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import torch
from av.video.reformatter import Interpolation
from torch import Tensor

from flowdeblur.data.images import FrameError, list_images, read_image

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm")
UNTAGGED = (2, 0, 2, 2)  # AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, AVCOL_PRI_..., AVCOL_TRC_...
TO_RGB = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


class VideoReader:
    """A video file's first video stream from frame ``skip`` on.

    ``fps``: its average frame rate; ``total``: its frames, ``count``: those from ``skip`` on, if known;
    ``colour``: the YUV matrix, range, primaries and transfer of its frames (None when untagged), for
    :class:`~flowdeblur.video.writer.VideoWriter`; ``turns``: quarter turns (counter-clockwise) applied to make
    the frames upright; ``size``: (height, width) of the upright frames.
    """

    def __init__(self, path: Path, skip: int = 0) -> None:
        self.path, self.skip = path, skip
        self.names: list[str] | None = None
        try:
            self.container = av.open(str(path))
            stream = self.container.streams.video[0]
            self.fps: Fraction | None = stream.average_rate or stream.guessed_rate
            self.total: int | None = stream.frames or None
            self.count: int | None = None if self.total is None else max(self.total - skip, 0)
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
        first = self.first
        self.colour: tuple[int, int, int, int] | None = (
            first.colorspace,
            first.color_range,
            first.color_primaries,
            first.color_trc,
        )
        if self.colour == UNTAGGED:
            self.colour = None
        self.turns = round((first.rotation or 0) / 90) % 4
        height, width = self.first.height, self.first.width
        self.size = (width, height) if self.turns % 2 else (height, width)

    def __iter__(self) -> Iterator[Tensor]:
        try:
            for number, frame in enumerate(self._frames()):
                if number >= self.skip:
                    yield self._to_tensor(frame)
        except av.FFmpegError as err:
            raise FrameError(f"{self.path}: decoding failed (corrupt or truncated video?): {err}") from err

    def _frames(self) -> Iterator[av.VideoFrame]:
        yield self.first
        yield from self.decoded

    def _to_tensor(self, frame: av.VideoFrame) -> Tensor:
        """Decoded frame -> upright (3, H, W) float32 RGB in [0, 1]."""
        rgb = frame.to_ndarray(format="rgb24", interpolation=TO_RGB, src_color_range=frame.color_range or None)
        image = torch.from_numpy(rgb).permute(2, 0, 1).float().div(255)
        return torch.rot90(image, self.turns, dims=(1, 2)) if self.turns else image

    def close(self) -> None:
        if hasattr(self, "container"):
            self.container.close()


class FolderReader:
    """The image files of one folder, in natural order, from file ``skip`` on; ``names`` are their stems; no
    frame rate."""

    def __init__(self, path: Path, skip: int = 0) -> None:
        self.path, self.skip = path, skip
        files = list_images(path)
        if not files:
            raise FrameError(f"{path}: no frames; expected image files (png, jpg, ...) directly inside")
        self.first = read_image(files[0])
        height, width = self.first.shape[-2:]
        self.size = (height, width)
        self.files = files[skip:]
        self.names = [f.stem for f in self.files]
        self.fps: Fraction | None = None
        self.total: int | None = len(files)
        self.count: int | None = len(self.files)
        self.colour: tuple[int, int, int, int] | None = None

    def __iter__(self) -> Iterator[Tensor]:
        for number, file in enumerate(self.files):
            frame = self.first if number == 0 and not self.skip else read_image(file)
            if tuple(frame.shape[-2:]) != self.size:
                raise FrameError(f"{file}: is {tuple(frame.shape[-2:])}; expected {self.size} as frame 0")
            yield frame

    def close(self) -> None:
        """Nothing to release."""


def open_reader(path: str | Path, skip: int = 0) -> VideoReader | FolderReader:
    """A reader for ``path``, a folder of frames or a video file, starting at frame ``skip``."""
    path = Path(path)
    if path.is_dir():
        return FolderReader(path, skip)
    if not path.is_file():
        raise FrameError(f"{path}: no such file or folder; expected a video file or a folder of frames")
    return VideoReader(path, skip)
