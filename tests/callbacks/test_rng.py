"""RNG states round-trip through a checkpoint; CUDA states restore onto whatever devices are visible now."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import torch

from flowdeblur.callbacks import rng
from flowdeblur.callbacks.rng import RngState


def draws() -> tuple[float, float, float]:
    return torch.rand(()).item(), float(np.random.rand()), random.random()


def test_round_trip_restores_every_cpu_generator() -> None:
    callback = RngState()
    state = callback.state_dict()
    first = draws()
    callback.load_state_dict(state)
    assert draws() == first


@pytest.mark.parametrize("visible", [0, 1, 4])
def test_cuda_states_of_another_device_count(
    visible: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    restored: list[int] = []
    monkeypatch.setattr(rng.torch.cuda, "is_available", lambda: visible > 0)
    monkeypatch.setattr(rng.torch.cuda, "device_count", lambda: visible)
    monkeypatch.setattr(rng.torch.cuda, "set_rng_state", lambda state, index: restored.append(index))
    state = RngState().state_dict()
    state["cuda"] = [torch.zeros(16, dtype=torch.uint8) for _ in range(2)]  # saved on a 2-GPU machine
    with caplog.at_level(logging.INFO, logger="flowdeblur.callbacks.rng"):
        RngState().load_state_dict(state)
    assert restored == list(range(min(2, visible)))
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert bool(skipped) == (visible < 2)
