"""Checks that a set of LPIPS weight tensors is the one expected: keys, shapes, dtype, pinned checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from flowdeblur.metrics.lpips.errors import LPIPSWeightsError
from flowdeblur.metrics.lpips.model import BACKBONES
from flowdeblur.metrics.lpips.networks import FeatureStack
from flowdeblur.metrics.lpips.specs import WeightSpec, tensor_digest


def _meta_stack(net: str) -> FeatureStack:
    with torch.device("meta"):
        return BACKBONES[net]()


def backbone_shapes(net: str) -> dict[str, tuple[int, ...]]:
    """``"alex"`` / ``"vgg"`` -> {``features.<i>.weight|bias``: shape} in torchvision's layout."""
    return {key: tuple(t.shape) for key, t in _meta_stack(net).state_dict().items()}


def lin_shapes(net: str) -> dict[str, tuple[int, ...]]:
    """``"alex"`` / ``"vgg"`` -> {``lin<k>.model.1.weight``: (1, C_k, 1, 1)} as in the official files."""
    return {f"lin{k}.model.1.weight": (1, c, 1, 1) for k, c in enumerate(_meta_stack(net).channels)}


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_layout(tensors: Mapping[str, Tensor], expected: Mapping[str, tuple[int, ...]], source: str) -> None:
    """Raise :class:`LPIPSWeightsError` naming ``source`` unless keys, shapes and dtype (float32) match."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise LPIPSWeightsError(
            f"{source}: not LPIPS weights of the expected layout "
            f"(missing keys {missing[:4]}, unexpected keys {unexpected[:4]})"
        )
    wrong = [
        f"{key} {tuple(t.shape)} {t.dtype} (expected {expected[key]} float32)"
        for key, t in tensors.items()
        if tuple(t.shape) != expected[key] or t.dtype != torch.float32
    ]
    if wrong:
        raise LPIPSWeightsError(f"{source}: wrong tensor shapes/dtypes: {'; '.join(wrong[:4])}")


def check_digest(tensors: Mapping[str, Tensor], expected: str, source: str) -> None:
    """Raise :class:`LPIPSWeightsError` naming ``source`` unless ``tensor_digest(tensors) == expected``."""
    got = tensor_digest(tensors)
    if got != expected:
        raise LPIPSWeightsError(f"{source}: checksum mismatch (tensor SHA-256 {got}, expected {expected})")


def check_backbone(tensors: Mapping[str, Tensor], spec: WeightSpec, source: str) -> None:
    """Layout and pinned checksum of ``features.*`` tensors of ``spec.backbone``."""
    check_layout(tensors, backbone_shapes(spec.net), source)
    check_digest(tensors, spec.backbone_digest, source)


def check_lins(tensors: Mapping[str, Tensor], spec: WeightSpec, source: str) -> None:
    """Layout and pinned checksum of the official linear heads of ``spec.net``."""
    check_layout(tensors, lin_shapes(spec.net), source)
    check_digest(tensors, spec.lins_digest, source)
