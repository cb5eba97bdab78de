"""Loading the project's Triton kernel modules (``ops/*_triton.py``) only where Triton is installed.

``import flowdeblur`` never imports Triton: the custom ops ask :func:`load` for a kernel module when a tensor needs
it, and fall back to their PyTorch versions where it returns None.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from types import ModuleType

from torch import Tensor

log = logging.getLogger(__name__)


@functools.cache
def load(name: str) -> ModuleType | None:
    """``flowdeblur.ops.<name>`` (a module that imports triton), or None where Triton is not installed."""
    try:
        return importlib.import_module(f"flowdeblur.ops.{name}")
    except ImportError as error:
        log.warning("flowdeblur: Triton unavailable (%s); %s falls back to its PyTorch version", error, name)
        return None


def require(name: str) -> ModuleType:
    """``flowdeblur.ops.<name>``; a clear error where Triton is not installed."""
    kernels = load(name)
    if kernels is None:
        raise RuntimeError(f"flowdeblur: {name} needs the triton package (pip install triton)")
    return kernels


def interpreted() -> bool:
    """Whether Triton kernels run on the CPU (``TRITON_INTERPRET=1``, read by Triton when first imported)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


FUSED_IMPLS = ("fast", "triton", "torch")


def fused_or_torch(tensor: Tensor, impl: str, name: str, what: str) -> str:
    """``triton`` or ``torch`` for an op that has Triton kernels (module ``name``) and a PyTorch version: for
    ``fast``, the kernels on CUDA tensors where Triton is installed, else PyTorch; ``triton`` and ``torch`` force
    one (``triton`` on the CPU needs ``TRITON_INTERPRET=1``). ``what`` names the op in errors."""
    if impl not in FUSED_IMPLS:
        raise ValueError(f"{what}: impl must be one of {FUSED_IMPLS}, got '{impl}'")
    if impl != "fast":
        if impl == "triton" and tensor.device.type != "cuda" and not interpreted():
            raise ValueError(f"{what}: impl 'triton' runs on CUDA tensors (on the CPU with TRITON_INTERPRET=1)")
        return impl
    return "triton" if tensor.device.type == "cuda" and load(name) is not None else "torch"
