"""Sliding T-frame windows over a stream of frames, holding only about 2T frames at a time.

The windows equal those of the folder data sets (:func:`flowdeblur.data.windows.window_indices`, same edge
modes): the stream's length is not needed in advance, only once its end has been read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

from flowdeblur.data.windows import window_indices

_UNKNOWN_LENGTH = 2**62


def sliding_windows(
    frames: Iterable[Tensor], num_frames: int, target: int, edge: str = "reflect"
) -> Iterator[tuple[int, Tensor]]:
    """Frames (3, H, W) one by one -> (frame number, window (T, 3, H, W) holding it in slot ``target``)."""
    source = iter(frames)
    buffer: dict[int, Tensor] = {}
    read, length = 0, None
    center = 0
    while length is None or center < length:
        # any window of `center` lies within `num_frames - 1` frames of it (edge modes fold inwards)
        while length is None and read <= center + num_frames:
            frame = next(source, None)
            if frame is None:
                length = read
            else:
                buffer[read] = frame
                read += 1
        if length is not None and center >= length:
            break
        order = window_indices(center, length or _UNKNOWN_LENGTH, num_frames, target, edge)
        yield center, torch.stack([buffer[i] for i in order])
        for stale in [i for i in buffer if i < center - num_frames]:
            del buffer[stale]
        center += 1
