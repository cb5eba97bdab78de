"""Data-set averaging of per-frame values: frame -> clip -> data set, exact under DDP.

Every update carries the per-frame values, the clip (sequence) id of each frame and a unique sample index.
``compute`` gathers all ranks' entries, drops duplicate sample indices (the padding a distributed sampler adds),
leaves NaN values out of the means (a metric that does not apply to that frame, or a frame that could not be
restored), averages the frames of each clip, then averages the clips. So a distributed evaluation equals a
single-process one exactly. What was left out is counted (:meth:`ClipAverage.counts`), never dropped silently.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


def first_samples(indices: Tensor) -> Tensor:
    """(N,) sample ids, possibly repeated -> positions of each id's first entry, in increasing id order."""
    order = torch.argsort(indices, stable=True)
    ordered = indices[order]
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return order[first]


class ClipAverage(Metric):
    """Mean over clips of the mean over each clip's frames."""

    full_state_update = False
    values: list[Tensor]
    clips: list[Tensor]
    indices: list[Tensor]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("values", default=[], dist_reduce_fx="cat")
        self.add_state("clips", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")

    def update(self, values: Tensor, clips: Tensor, indices: Tensor) -> None:
        """values (N,) float, clips (N,) int clip ids, indices (N,) int unique sample ids."""
        self.values.append(values.detach().double().reshape(-1))
        self.clips.append(clips.detach().long().reshape(-1))
        self.indices.append(indices.detach().long().reshape(-1))

    def _deduplicated(self) -> tuple[Tensor, Tensor]:
        """(values, clips) of every sample once, NaN included."""
        values, clips, indices = (dim_zero_cat(s) for s in (self.values, self.clips, self.indices))
        first = first_samples(indices)
        return values[first], clips[first]

    def _entries(self) -> tuple[Tensor, Tensor]:
        """Deduplicated (values, clips) without NaN; an infinite value is kept (and shows in the mean)."""
        values, clips = self._deduplicated()
        keep = ~torch.isnan(values)
        return values[keep], clips[keep]

    def counts(self) -> dict[str, int]:
        """``frames`` (samples seen once each), ``nan_frames`` (left out of the means), ``clips`` (clips in the
        mean: at least one non-NaN frame) and ``nan_clips`` (clips every frame of which was NaN)."""
        if len(self.values) == 0:
            return {"frames": 0, "nan_frames": 0, "clips": 0, "nan_clips": 0}
        values, clips = self._deduplicated()
        nan = torch.isnan(values)
        kept = int(torch.unique(clips[~nan]).numel())
        return {
            "frames": int(values.numel()),
            "nan_frames": int(nan.sum()),
            "clips": kept,
            "nan_clips": int(torch.unique(clips).numel()) - kept,
        }

    def per_clip(self) -> dict[int, float]:
        """Clip id -> mean over that clip's frames (only clips with at least one non-NaN value)."""
        if len(self.values) == 0:  # a list of updates; one concatenated tensor after a distributed sync
            return {}
        values, clips = self._entries()
        ids, inverse = torch.unique(clips, return_inverse=True)
        sums = torch.zeros(len(ids), dtype=values.dtype, device=values.device).index_add_(0, inverse, values)
        counts = torch.bincount(inverse, minlength=len(ids)).to(values.dtype)
        return {int(i): float(s / c) for i, s, c in zip(ids, sums, counts, strict=True)}

    def compute(self) -> Tensor:
        """Scalar mean over clips; NaN when no value was seen."""
        means = list(self.per_clip().values())
        if not means:
            return torch.tensor(float("nan"))
        return torch.tensor(means, dtype=torch.float64).mean().float()
