"""Fixtures of the flow-backbone tests: a natural textured image translated by a known shift."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from skimage import data
from torch import Tensor


@pytest.fixture(scope="session")
def astronaut() -> Tensor:
    """(3, 512, 512) RGB in [0, 1]."""
    return torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255.0


@pytest.fixture
def translated_pair(astronaut: Tensor) -> Callable[[tuple[int, int], int], Tensor]:
    """shift (dx, dy), size -> (1, 2, 3, size, size) window [target, neighbour].

    target(p) = neighbour(p + shift): the exact flow from the target to the neighbour is ``shift``.
    """

    def make(shift: tuple[int, int], size: int) -> Tensor:
        dx, dy = shift
        oy, ox = 200, 180
        target = astronaut[:, oy : oy + size, ox : ox + size]
        neighbour = astronaut[:, oy - dy : oy - dy + size, ox - dx : ox - dx + size]
        return torch.stack([target, neighbour]).unsqueeze(0)

    return make
