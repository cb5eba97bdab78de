"""Shared fixtures: small deterministic natural images."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from skimage import data as skdata

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def photo() -> torch.Tensor:
    """(1, 3, 96, 128) crop of scikit-image's astronaut photo, float in [0, 1]."""
    img = skdata.astronaut()[100:196, 160:288].astype(np.float32) / 255.0
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).contiguous()
