"""Window handling shared by the backbones: input checks and the target-first reordering."""

from __future__ import annotations

from torch import Tensor

from flowdeblur.flow.base import check_window, neighbour_indices


def check_num_frames(num_frames: int) -> int:
    """The window length a backbone is built for; raises ``ValueError`` below 2."""
    if num_frames < 2:
        raise ValueError(f"model.flow.num_frames: expected a window of at least 2 frames, got {num_frames}")
    return int(num_frames)


def check_frame_size(frames: Tensor, stride: int) -> None:
    """Raise ``ValueError`` unless the frames' H and W are multiples of ``stride`` (= 2**max(levels))."""
    h, w = frames.shape[-2:]
    if h % stride or w % stride:
        raise ValueError(
            f"flow backbone: frame size {h}x{w} must be a multiple of {stride} (2**max(levels)); "
            "pad the frames first (FlowDeblurNet does)"
        )


def target_first(frames: Tensor, target: int, stride: int, num_frames: int) -> Tensor:
    """(B, T, 3, H, W) -> (B, T, 3, H, W) reordered as [target, neighbours in window order].

    Backbones work on this order, so their behaviour does not depend on where the target sits in the window.
    Raises ``ValueError`` if the window is malformed, ``T != num_frames`` or ``H``/``W`` are not multiples of
    ``stride``.
    """
    check_window(frames, target)
    if frames.shape[1] != num_frames:
        raise ValueError(f"flow backbone: built for windows of {num_frames} frames, got T={frames.shape[1]}")
    check_frame_size(frames, stride)
    return frames[:, [target, *neighbour_indices(num_frames, target)]]
