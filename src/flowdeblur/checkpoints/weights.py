"""Network weight files: Lightning checkpoints and safetensors exports, loaded without running pickled code.

An export is one ``.safetensors`` file: the network's state_dict (keys as in ``FlowDeblurNet.state_dict()``)
and, in the file's metadata, ``format = "flowdeblur"`` and ``config`` = the resolved experiment config as
JSON. Read it with ``safetensors.safe_open(path, "pt").metadata()["config"]``. Checkpoints are read with
``torch.load(weights_only=True)`` (:func:`flowdeblur.checkpoints.load.load_checkpoint`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from flowdeblur.checkpoints.load import CheckpointError, checkpoint_config, load_checkpoint
from flowdeblur.network import FlowDeblurNet, build_net
from flowdeblur.utils.files import atomic_path

EXPORT_SUFFIX = ".safetensors"
NET_PREFIX = "net."


def load_weights(path: str | Path) -> tuple[DictConfig, dict[str, Tensor]]:
    """A checkpoint (``.ckpt``) or an export (``.safetensors``) -> (experiment config, network state_dict).

    Raises:
        CheckpointError: naming the file and what was expected.
    """
    path = Path(path)
    if path.suffix == EXPORT_SUFFIX:
        config, state = _load_export(path)
    else:
        ckpt = load_checkpoint(path)
        config = checkpoint_config(ckpt, path)
        state = {k[len(NET_PREFIX) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(NET_PREFIX)}
        if not state:
            raise CheckpointError(f"ckpt_path: '{path}' has no '{NET_PREFIX}*' weights: not a flowdeblur ckpt")
    return _window_on_model(config, path), state


def _window_on_model(config: DictConfig, path: Path) -> DictConfig:
    """The config with its window in ``model``: files written before the window moved there keep it in ``data``."""
    if "num_frames" in config.model:
        return config
    data = config.get("data")
    if data is None or "num_frames" not in data:
        raise CheckpointError(f"ckpt_path: '{path}': its config has no model.num_frames (the network's window)")
    config.model.num_frames, config.model.target = data.num_frames, data.get("target")
    return config


def load_net(path: str | Path) -> tuple[FlowDeblurNet, DictConfig]:
    """The network rebuilt from the file's config with its weights loaded, in eval mode, and that config."""
    config, state = load_weights(path)
    net = build_net(config.model, pretrained=False)  # the file's weights replace every part
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"ckpt_path: '{path}': weights do not fit its config's network: {err}") from err
    return net.eval(), config


def save_export(path: str | Path, state: dict[str, Tensor], config: DictConfig | dict[str, Any]) -> Path:
    """Write ``state`` and ``config`` as one safetensors file, atomically."""
    path = Path(path)
    container = OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else config
    metadata = {"format": "flowdeblur", "config": json.dumps(container)}
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)
    return path


def _load_export(path: Path) -> tuple[DictConfig, dict[str, Tensor]]:
    if not path.is_file():
        raise CheckpointError(f"ckpt_path: no exported weights file at '{path}'")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"ckpt_path: '{path}' is not a readable safetensors file: {err}") from err
    if metadata.get("format") != "flowdeblur" or "config" not in metadata:
        raise CheckpointError(f"ckpt_path: '{path}' carries no flowdeblur config; expected an export")
    return OmegaConf.create(json.loads(metadata["config"])), state
