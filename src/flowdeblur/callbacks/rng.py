"""Random-number generator states carried in checkpoints, so that a resumed run draws what an uninterrupted one
would have drawn (data order, augmentations, dropout)."""

from __future__ import annotations

import logging
import random
from typing import Any, cast

import numpy as np
import pytorch_lightning as pl
import torch

# np.random.get_state(legacy=True) of the global MT19937 generator: (name, keys, pos, has_gauss, cached_gaussian)
LegacyState = tuple[str, np.ndarray, int, int, float]
log = logging.getLogger(__name__)


class RngState(pl.Callback):
    """Saves the torch (CPU and CUDA), numpy and python generator states in the checkpoint; restores them on resume.

    States are stored as tensors and plain containers, so checkpoints stay loadable with ``weights_only=True``.
    CUDA states are per visible device: a run resumed with fewer visible GPUs (or none) restores those that
    exist and says which it skipped; extra GPUs keep their seeded states.
    """

    def state_dict(self) -> dict[str, Any]:
        name, keys, pos, has_gauss, cached = cast(LegacyState, np.random.get_state(legacy=True))
        state = {
            "torch": torch.get_rng_state(),
            "numpy": {
                "name": name,
                "keys": torch.from_numpy(keys.astype(np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            },
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        numpy = state_dict["numpy"]
        keys = numpy["keys"].numpy().astype(np.uint32)
        np.random.set_state((numpy["name"], keys, numpy["pos"], numpy["has_gauss"], numpy["cached_gaussian"]))
        version, internal, gauss = state_dict["python"]
        random.setstate((version, tuple(internal), gauss))
        if "cuda" in state_dict:
            restore_cuda_states(list(state_dict["cuda"]))


def restore_cuda_states(states: list[torch.Tensor]) -> None:
    """Restore the saved per-device CUDA generator states onto the devices visible now; note the rest."""
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index, state in enumerate(states[:visible]):
        torch.cuda.set_rng_state(state, index)
    if len(states) > visible:
        log.info(
            "checkpoint has CUDA RNG states for %d devices, %d visible: restored %d, skipped the rest",
            len(states),
            visible,
            min(len(states), visible),
        )
