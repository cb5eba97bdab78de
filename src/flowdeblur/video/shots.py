"""Shot-cut detection between consecutive frames: a cheap test on small copies of the frames.

The score of a pair of frames, both area-downscaled to :data:`WIDTH` pixels wide, is the sum of

- the aligned difference: the smallest mean absolute RGB difference over shifts of up to :data:`SHIFT` pixels of
  the small frames (about 3 % of the width each way), so that camera motion within a shot scores low;
- the histogram distance: half the L1 distance between the 16-bin histograms of each channel (0: same colours,
  1: disjoint), which catches cuts between views of similar structure.

Measured on panning clips of nine photos (motion blurred, up to 32 px per frame at 640 px wide): at most 0.095
within a shot; between shots (other photo, or a zoomed view of the same one) at least 0.163.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

WIDTH = 64
SHIFT = 2
BINS = 16
DEFAULT_THRESHOLD = 0.13


def small(frame: Tensor) -> Tensor:
    """(3, H, W) in [0, 1] -> (3, h, WIDTH) area average (narrower frames keep their size)."""
    height, width = frame.shape[-2:]
    if width <= WIDTH:
        return frame.float()
    size = (max(1, round(height * WIDTH / width)), WIDTH)
    return F.adaptive_avg_pool2d(frame.float()[None], size)[0]


def aligned_difference(a: Tensor, b: Tensor, shift: int = SHIFT) -> float:
    """Smallest mean |a - b| over integer shifts of up to ``shift`` pixels; a, b (3, h, w)."""
    height, width = a.shape[-2:]
    shift = min(shift, height - 1, width - 1)
    best = float("inf")
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            part_a = a[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)]
            part_b = b[:, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
            best = min(best, (part_a - part_b).abs().mean().item())
    return best


def histograms(frame: Tensor) -> Tensor:
    """(3, h, w) in [0, 1] -> (3, BINS) per-channel histograms, each summing to 1."""
    counts = torch.stack([torch.histc(channel, BINS, 0.0, 1.0) for channel in frame])
    return counts / counts.sum(1, keepdim=True)


def cut_score(a: Tensor, b: Tensor) -> float:
    """Score of a cut between two small frames (3, h, w): aligned difference + histogram distance."""
    distance = 0.5 * (histograms(a) - histograms(b)).abs().sum(1).mean().item()
    return aligned_difference(a, b) + distance


class ShotCuts:
    """Called on each frame (3, H, W) of a stream in order: True when a new shot starts at that frame.

    ``cuts``: the numbers (0 = first frame seen) of the frames that started a new shot so far.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not threshold > 0:
            raise ValueError(f"cut_threshold: expected a positive number or null, got {threshold!r}")
        self.threshold = threshold
        self.previous: Tensor | None = None
        self.seen = 0
        self.cuts: list[int] = []

    def __call__(self, frame: Tensor) -> bool:
        current = small(frame)
        previous, self.previous = self.previous, current
        cut = previous is not None and cut_score(previous, current) > self.threshold
        if cut:
            self.cuts.append(self.seen)
        self.seen += 1
        return cut
