"""Pooled (split-wide) means: a sum of per-frame numerators over a sum of per-frame denominators.

Region metrics use it: the static-region PSNR is ``10 log10(1 / MSE)`` of the MSE pooled over every static pixel
of the split (a frame whose static region is restored exactly contributes zero error; it is counted, not
dropped, and no per-frame clamp enters the result). Like :class:`~flowdeblur.metrics.clip_average.ClipAverage` it
keeps one entry per sample and drops the duplicate sample indices a distributed sampler pads with, so a
distributed evaluation equals a single-process one exactly.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from flowdeblur.metrics.clip_average import first_samples
from flowdeblur.metrics.image import PSNR_CAP_DB


class PooledMean(Metric):
    """``sum(numerators) / sum(denominators)`` over the deduplicated samples (float64); NaN when the
    denominators sum to 0."""

    full_state_update = False
    numerators: list[Tensor]
    denominators: list[Tensor]
    indices: list[Tensor]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("numerators", default=[], dist_reduce_fx="cat")
        self.add_state("denominators", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")

    def update(self, numerators: Tensor, denominators: Tensor, indices: Tensor) -> None:
        """numerators (N,), denominators (N,) per sample, indices (N,) unique sample ids."""
        self.numerators.append(numerators.detach().double().reshape(-1))
        self.denominators.append(denominators.detach().double().reshape(-1))
        self.indices.append(indices.detach().long().reshape(-1))

    def compute(self) -> Tensor:
        """Scalar pooled mean (float64)."""
        if len(self.numerators) == 0:  # a list of updates; one concatenated tensor after a distributed sync
            return torch.tensor(float("nan"), dtype=torch.float64)
        numerators, denominators, indices = (
            dim_zero_cat(s) for s in (self.numerators, self.denominators, self.indices)
        )
        first = first_samples(indices)
        total = denominators[first].sum()
        if total <= 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return numerators[first].sum() / total


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB (data range 1) of a pooled MSE; an MSE of 0 gives the stated cap :data:`PSNR_CAP_DB`."""
    if math.isnan(mse):
        return mse
    return min(PSNR_CAP_DB, 10.0 * math.log10(1.0 / mse) if mse > 0 else PSNR_CAP_DB)
