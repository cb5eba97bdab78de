"""Frame sinks that never leave a half-written output: a video file (PyAV) or a folder of PNG frames.

A sink writes into a temporary file/folder beside the output and renames it into place on :meth:`commit`, with
the mode a plain ``open``/``mkdir`` would give it (the umask applies); :meth:`abort` deletes it.
:func:`check_output` refuses outputs that would overwrite the input (compared by real path, so symlinks count)
or, unless asked, an existing output.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import imageio.v3 as iio
import numpy as np
from av.video.reformatter import Interpolation

from flowdeblur.utils.files import AtomicFile, apply_umask
from flowdeblur.video.reader import VIDEO_SUFFIXES

# RGB -> YUV by swscale with accurate rounding and 2x2 chroma averages (its default biases chroma by ~-0.08)
TO_YUV = Interpolation.AREA | Interpolation.ACCURATE_RND


class OutputError(ValueError):
    """An output path that cannot be written safely."""


def output_kind(path: Path) -> str:
    """``video`` for a video suffix, ``folder`` for a path without suffix."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    if not path.suffix:
        return "folder"
    raise OutputError(
        f"output: '{path}' has the suffix '{path.suffix}'; expected a video ({', '.join(VIDEO_SUFFIXES)}) "
        "or a folder path without suffix"
    )


def check_output(source: Path, output: Path, overwrite: bool) -> str:
    """Refuse an ``output`` that is or contains ``source``, or exists without ``overwrite``; its kind."""
    kind = output_kind(output)
    src, out = source.resolve(), output.resolve()
    if src == out:
        raise OutputError(f"output: '{output}' is the input '{source}'; choose another output path")
    if src.is_relative_to(out):
        raise OutputError(f"output: '{output}' contains the input '{source}'; choose another output path")
    if output.exists() or output.is_symlink():
        if not overwrite:
            raise OutputError(f"output: '{output}' exists; choose another path or pass overwrite=true")
        if output.is_dir() != (kind == "folder"):
            raise OutputError(f"output: '{output}' exists and is not a {kind}; refusing to replace it")
    return kind


class VideoWriter:
    """H.264 (by default) video at ``fps``; ``crf`` sets the quality (0 = lossless, 18 = visually lossless).

    4:2:0 chroma for even frame sizes, 4:4:4 for odd ones (4:2:0 needs even sizes); ``libx264rgb`` stores RGB.
    ``colour`` (:attr:`VideoReader.colour`: matrix, range, primaries, transfer) is the YUV encoding to convert to
    and tag, so that a video written back keeps its input's colours; None: swscale's default matrix, untagged.
    """

    def __init__(
        self,
        path: Path,
        fps: Fraction,
        size: tuple[int, int],
        codec: str = "libx264",
        crf: int = 18,
        colour: tuple[int, int, int, int] | None = None,
    ) -> None:
        self.path, self.colour = path, colour
        self.file = AtomicFile(path, suffix=f".tmp{path.suffix}")  # the suffix tells av the container format
        try:
            self.container = av.open(str(self.file.tmp), "w")
            stream = self.container.add_stream(codec, rate=fps)
            if not isinstance(stream, av.VideoStream):
                raise ValueError(f"codec: '{codec}' is not a video codec")
            self.stream = stream
            self.stream.height, self.stream.width = size
            self.stream.pix_fmt = pixel_format(codec, size)
            if codec.startswith("libx26"):
                self.stream.options = {"crf": str(crf)}
            if colour is not None and self.stream.pix_fmt.startswith("yuv"):
                context = self.stream.codec_context
                context.colorspace, context.color_range, context.color_primaries, context.color_trc = colour
            else:
                self.colour = None
        except BaseException:
            self.abort()
            raise

    def write(self, frame: np.ndarray, name: str | None = None) -> None:
        """(H, W, 3) uint8 RGB; ``name`` is ignored (frames of a video have no names)."""
        picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
        if self.stream.pix_fmt != "rgb24":
            matrix, value_range = self.colour[:2] if self.colour else (None, None)
            picture = picture.reformat(
                format=self.stream.pix_fmt,
                interpolation=TO_YUV,
                dst_colorspace=matrix or None,
                dst_color_range=value_range or None,
            )
            if self.colour:
                picture.colorspace, picture.color_range = self.colour[:2]
        for packet in self.stream.encode(picture):
            self.container.mux(packet)

    def commit(self) -> Path:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        return self.file.commit()

    def abort(self) -> None:
        if hasattr(self, "container"):
            self.container.close()
        self.file.abort()


class FolderWriter:
    """PNG frames named ``<name>.png`` (the input frame's name, or a six-digit frame number)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
        self.count = 0

    def write(self, frame: np.ndarray, name: str | None = None) -> None:
        """(H, W, 3) uint8 RGB."""
        iio.imwrite(self.tmp / f"{name if name is not None else f'{self.count:06d}'}.png", frame)
        self.count += 1

    def commit(self) -> Path:
        apply_umask(self.tmp)
        if self.path.exists():
            old = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}.old-"))
            os.replace(self.path, old / self.path.name)
            os.replace(self.tmp, self.path)
            shutil.rmtree(old)
        else:
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def open_writer(
    path: Path,
    kind: str,
    fps: Fraction,
    size: tuple[int, int],
    codec: str = "libx264",
    crf: int = 18,
    colour: tuple[int, int, int, int] | None = None,
) -> VideoWriter | FolderWriter:
    """A sink of ``kind`` (from :func:`check_output`) for frames of ``size`` (height, width)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return VideoWriter(path, fps, size, codec, crf, colour) if kind == "video" else FolderWriter(path)


def pixel_format(codec: str, size: tuple[int, int]) -> str:
    if codec == "libx264rgb":
        return "rgb24"
    return "yuv420p" if size[0] % 2 == 0 and size[1] % 2 == 0 else "yuv444p"
