"""Sliding T-frame windows over a stream of frames, holding only about 2T frames at a time.

The windows equal those of the folder data sets (:func:`flowdeblur.data.windows.window_indices`, same edge
modes), with every shot treated as a sequence of its own: when ``is_cut`` reports a new shot at a frame, the
windows on either side are completed by the edge mode as at the ends of a video, so a window never mixes two
shots. Neither the stream's length nor its cuts are needed in advance: the stream is read T frames ahead.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import Tensor

from flowdeblur.data.windows import window_indices

_UNKNOWN_LENGTH = 2**62


def sliding_windows(
    frames: Iterable[Tensor],
    num_frames: int,
    target: int,
    edge: str = "reflect",
    is_cut: Callable[[Tensor], bool] | None = None,
    first: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, Tensor]]:
    """Frames (3, H, W) one by one -> (frame number, window (T, 3, H, W) holding it in slot ``target``).

    ``is_cut(frame)`` is called once per frame, in order: True when a new shot starts at that frame. Windows are
    made for frames ``first`` to ``stop - 1`` (to the end when ``stop`` is None); frames before ``first`` and
    after ``stop - 1`` still serve as neighbours within their shot.
    """
    source = iter(frames)
    buffer: dict[int, Tensor] = {}
    starts = [0]  # first frame of every shot read so far
    read, length = 0, None
    center = first
    while (length is None or center < length) and (stop is None or center < stop):
        # a window of `center` lies within `num_frames - 1` frames of it (edge modes fold inwards), so reading
        # up to `center + num_frames` also finds a cut right after its last frame
        while length is None and read <= center + num_frames:
            frame = next(source, None)
            if frame is None:
                length = read
                break
            if is_cut is not None and is_cut(frame) and read > 0:
                starts.append(read)
            buffer[read] = frame
            read += 1
            for stale in [i for i in buffer if i < center - num_frames]:
                del buffer[stale]
        if length is not None and center >= length:
            break
        shot = bisect.bisect_right(starts, center)
        begin = starts[shot - 1]
        end = starts[shot] if shot < len(starts) else (length or _UNKNOWN_LENGTH)
        order = window_indices(center - begin, end - begin, num_frames, target, edge)
        yield center, torch.stack([buffer[begin + i] for i in order])
        center += 1
