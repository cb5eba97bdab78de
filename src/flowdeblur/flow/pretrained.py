"""Pretrained flow backbones (config ``model.flow.weights``): a builtin name, a ``.safetensors`` path, or null.

A weights file holds the flow-estimating part of a backbone (:func:`flow_state`: the feature pyramid, the
estimators and the flow heads; not the fusion of motion features, which only the deblurrer trains, nor loss
state) and, in its metadata, ``format`` = :data:`FORMAT`, ``backbone`` (the architecture arguments as JSON),
``config_hash`` (of the recipe that trained it), ``checksum`` (:func:`tensor_checksum`) and ``commit``.
Builtin names are the files in ``flowdeblur/flow/weights/`` (``pwc_synthetic``: ``make pretrain-flow``).

Weights are loaded after the network has been built and initialised (:func:`load_flow_weights`, called by
:func:`flowdeblur.network.build_net`), so every preset that shares the backbone config starts from them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from flowdeblur.flow.learned import SelfSupervisedFlow
from flowdeblur.utils.files import atomic_path

OPTION = "model.flow.weights"
FORMAT = "flowdeblur-flow"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# state that pretraining does not train: the fusion of motion features (trained with the deblurrer) and the
# warping loss's step counter
NOT_PRETRAINED = ("fuse.", "warping_loss.")


class FlowWeightsError(ValueError):
    """A weights file that is missing, unreadable or does not fit the backbone (one line naming the option)."""


def builtin_names() -> list[str]:
    """Names of the weights shipped with the package."""
    return sorted(path.stem for path in WEIGHTS_DIR.glob("*.safetensors"))


def resolve(weights: str) -> Path:
    """A builtin name or a path -> the file's path (raises :class:`FlowWeightsError` when there is none)."""
    path = WEIGHTS_DIR / f"{weights}.safetensors" if weights in builtin_names() else Path(weights).expanduser()
    if not path.is_file():
        raise FlowWeightsError(
            f"{OPTION}: no weights file at '{weights}'; expected null, a builtin name ({', '.join(builtin_names())}) "
            "or the path of a .safetensors file written by flowdeblur.pretrain_flow"
        )
    return path


def without_weights(flow_cfg: DictConfig) -> DictConfig:
    """The flow config node, resolved, without ``weights`` and ``trainable`` (what the constructor takes)."""
    node = OmegaConf.to_container(flow_cfg, resolve=True)
    assert isinstance(node, dict)
    for key in ("weights", "trainable"):
        node.pop(key, None)
    return OmegaConf.create(node)


def prepare_flow(backbone: nn.Module, flow_cfg: DictConfig, pretrained: bool = True) -> None:
    """After the network is built and initialised: load ``model.flow.weights`` (with ``pretrained``) and, with
    ``model.flow.trainable: false``, freeze them (:func:`freeze`)."""
    weights = flow_cfg.get("weights")
    if not flow_cfg.get("trainable", True):
        if weights is None:
            raise FlowWeightsError("model.flow.trainable: false freezes the backbone's weights; set model.flow.weights")
        freeze(backbone)
    load_flow_weights(backbone, weights if pretrained else None)


def freeze(backbone: nn.Module) -> None:
    """Stop training the pretrained part (:func:`flow_state`) and skip the warping losses, which train only it;
    the fusion of motion features keeps learning with the deblurrer."""
    pretrained = flow_state(backbone).keys()
    for name, param in backbone.named_parameters():
        if name in pretrained:
            param.requires_grad_(False)
    if isinstance(backbone, SelfSupervisedFlow):
        backbone.learns_flow = False


def flow_state(backbone: nn.Module) -> dict[str, Tensor]:
    """The pretrained part of ``backbone.state_dict()`` (every entry but :data:`NOT_PRETRAINED`)."""
    return {k: v for k, v in backbone.state_dict().items() if not k.startswith(NOT_PRETRAINED)}


def tensor_checksum(state: dict[str, Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes of ``state`` in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def save_flow_weights(path: str | Path, backbone: nn.Module, metadata: dict[str, Any]) -> Path:
    """Write :func:`flow_state` of ``backbone`` with ``metadata`` (values JSON-encoded unless strings), its
    format and checksum, atomically."""
    state = {k: v.detach().cpu().contiguous().clone() for k, v in flow_state(backbone).items()}
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    meta.update(format=FORMAT, checksum=tensor_checksum(state))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(state, tmp, metadata=meta)
    return path


def read_flow_weights(weights: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    """A builtin name or path -> (state, metadata), the format and checksum verified."""
    path = resolve(weights)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise FlowWeightsError(f"{OPTION}: '{path}' is not a readable safetensors file ({err})") from err
    if metadata.get("format") != FORMAT:
        raise FlowWeightsError(f"{OPTION}: '{path}' is not a flow-weights file (no format={FORMAT} in its metadata)")
    if metadata.get("checksum") != tensor_checksum(state):
        raise FlowWeightsError(f"{OPTION}: '{path}' does not match the checksum in its metadata (a damaged file)")
    return state, metadata


def check_fit(state: dict[str, Tensor], backbone: nn.Module, path: str) -> None:
    """Raise :class:`FlowWeightsError` unless ``state`` has exactly the names and shapes of :func:`flow_state`."""
    expected = {k: tuple(v.shape) for k, v in flow_state(backbone).items()}
    given = {k: tuple(v.shape) for k, v in state.items()}
    problems = [f"missing {k}" for k in sorted(expected.keys() - given.keys())]
    problems += [f"unexpected {k}" for k in sorted(given.keys() - expected.keys())]
    problems += [f"{k} is {given[k]}, expected {v}" for k, v in sorted(expected.items()) if given.get(k, v) != v]
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise FlowWeightsError(
            f"{OPTION}: '{path}' does not fit the {type(backbone).__name__} backbone of model.flow: "
            f"{'; '.join(problems[:3])}{more}"
        )


def load_flow_weights(backbone: nn.Module, weights: str | None) -> dict[str, str]:
    """Copy pretrained weights into ``backbone`` (nothing for None); returns the file's metadata."""
    if weights is None:
        return {}
    state, metadata = read_flow_weights(str(weights))
    check_fit(state, backbone, str(weights))
    backbone.load_state_dict(state, strict=False)
    return metadata
