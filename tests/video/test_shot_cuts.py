"""Shot-cut detection and windows that never mix two shots."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdeblur.data.windows import window_indices
from flowdeblur.video.shots import DEFAULT_THRESHOLD, ShotCuts, cut_score, small
from flowdeblur.video.stream import sliding_windows
from tests.footage import photo_clip

PHOTOS = ("coffee", "astronaut", "chelsea", "rocket")


def tensors(frames: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(f).permute(2, 0, 1).float() / 255 for f in frames]


@pytest.mark.parametrize("speed", [1, 4, 8])
def test_camera_motion_scores_below_and_cuts_above_the_threshold(speed: int) -> None:
    clips = {name: tensors(photo_clip(3, 54, 128, speed, name)) for name in PHOTOS}
    within = [cut_score(small(c[i]), small(c[i + 1])) for c in clips.values() for i in range(len(c) - 1)]
    across = [cut_score(small(clips[a][-1]), small(clips[b][0])) for a in PHOTOS for b in PHOTOS if a != b]
    assert max(within) < DEFAULT_THRESHOLD < min(across), (within, across)


def test_shot_cuts_reports_the_first_frame_of_each_shot() -> None:
    frames = [*photo_clip(3, photo="coffee"), *photo_clip(4, photo="astronaut"), *photo_clip(2, photo="chelsea")]
    cuts = ShotCuts()
    flags = [cuts(frame) for frame in tensors(np.stack(frames))]
    assert cuts.cuts == [3, 7] and [i for i, flag in enumerate(flags) if flag] == [3, 7]


@pytest.mark.parametrize("threshold", [0, -1, "high", True])
def test_bad_threshold_names_the_option(threshold: object) -> None:
    with pytest.raises(ValueError, match="cut_threshold: expected a positive number or null"):
        ShotCuts(threshold)  # type: ignore[arg-type]


@pytest.mark.parametrize("edge", ["reflect", "replicate"])
@pytest.mark.parametrize(("num_frames", "target"), [(3, 1), (5, 2), (5, 0)])
def test_windows_stay_within_their_shot(edge: str, num_frames: int, target: int) -> None:
    starts = [0, 4, 5, 7, 13]  # shots of 4, 1, 2, 6 and 3 frames
    length = 16
    frames = [torch.full((1, 1, 1), float(i)) for i in range(length)]
    pulled: list[int] = []

    def is_cut(frame: torch.Tensor) -> bool:
        pulled.append(int(frame))
        return int(frame) in starts

    for center, window in sliding_windows(frames, num_frames, target, edge, is_cut):
        begin = max(s for s in starts if s <= center)
        end = min([s for s in starts if s > center] + [length])
        expected = [begin + i for i in window_indices(center - begin, end - begin, num_frames, target, edge)]
        assert window.flatten().long().tolist() == expected
        assert len(pulled) <= center + num_frames + 1  # look-ahead of at most T frames
    assert center == length - 1 and pulled == list(range(length))


def test_windows_of_a_range_equal_those_of_the_whole_stream() -> None:
    frames = [torch.full((1, 1, 1), float(i)) for i in range(12)]
    cut = lambda frame: int(frame) == 6  # noqa: E731
    whole = dict(sliding_windows(frames, 5, 2, "reflect", cut))
    part = list(sliding_windows(frames, 5, 2, "reflect", cut, first=4, stop=8))
    assert [c for c, _ in part] == [4, 5, 6, 7]
    assert all(torch.equal(window, whole[c]) for c, window in part)
