"""Crops and flips of a whole window: one draw of parameters for every frame, blurry and sharp alike."""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import Tensor, nn


def window_crop(size: tuple[int, int], augment: bool) -> nn.Module:
    """(N, 3, H, W) -> (N, 3, h, w), the same crop of all N frames.

    ``augment``: a random crop followed by random horizontal and vertical flips (p = 0.5 each); otherwise the
    centre crop. Parameters are drawn once per call from torch's global generator (seeded per loader worker).
    """
    if augment:
        return K.AugmentationSequential(
            K.RandomCrop(size, cropping_mode="slice"),
            K.RandomHorizontalFlip(),
            K.RandomVerticalFlip(),
            same_on_batch=True,
        )
    return K.AugmentationSequential(K.CenterCrop(size, cropping_mode="slice"), same_on_batch=True)


def apply(transform: nn.Module, *windows: Tensor) -> list[Tensor]:
    """Windows (T_i, 3, H, W) -> the same windows transformed with one shared draw of parameters."""
    lengths = [w.shape[0] for w in windows]
    out = transform(torch.cat(windows))
    return list(out.split(lengths))
