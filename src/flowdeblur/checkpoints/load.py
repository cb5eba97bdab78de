"""Loading checkpoints safely: tensors and plain containers only, never arbitrary pickled code."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, unsafe or not a flowdeblur checkpoint."""


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint with ``torch.load(weights_only=True)`` on the CPU.

    Raises:
        CheckpointError: naming the file and what was expected.
    """
    ckpt = read_weights_only(path)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"ckpt_path: '{path}' has no 'state_dict'; expected a flowdeblur training checkpoint")
    return ckpt


def read_weights_only(path: str | Path) -> Any:
    """Any ``torch.save`` file holding only tensors and plain containers, on the CPU.

    Raises:
        CheckpointError: the file is missing, corrupt, or holds other objects.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ckpt_path: no checkpoint file at '{path}'")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"ckpt_path: '{path}' holds objects other than tensors and plain containers; refusing to load it "
            f"(only weights-only checkpoints are accepted): {_unpickling_detail(err)}"
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(
            f"ckpt_path: '{path}' is not a readable checkpoint (corrupt or truncated?): {err}"
        ) from err


def _unpickling_detail(err: pickle.UnpicklingError) -> str:
    """The line of torch's long weights-only error that names the offending global."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return next((line for line in lines if "Unsupported global" in line), lines[0] if lines else repr(err))


def checkpoint_config(ckpt: dict[str, Any], path: str | Path = "") -> DictConfig:
    """The resolved experiment config stored in a checkpoint by :class:`~flowdeblur.lit.module.FlowDeblurModule`."""
    config = ckpt.get("hyper_parameters", {}).get("config")
    if not config:
        raise CheckpointError(f"ckpt_path: '{path}' carries no experiment config; expected a flowdeblur checkpoint")
    return OmegaConf.create(config)
