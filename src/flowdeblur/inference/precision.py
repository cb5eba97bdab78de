"""Inference precision: ``fp32``, ``bf16`` (autocast) or ``auto``: bf16 where the device computes it natively
(CUDA GPUs with bf16, CPUs with AVX512-BF16 or AMX), else fp32."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` has native bf16 arithmetic (without it, bf16 autocast is emulated and slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return False


def resolve_precision(precision: str, device: torch.device) -> tuple[str, str]:
    """``precision`` option, device -> (``fp32`` | ``bf16``, the reason in words, for the output)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got '{precision}'")
    if precision != "auto":
        return precision, "as asked"
    if native_bf16(device):
        return "bf16", f"auto: native bf16 on this {device.type}"
    return "fp32", f"auto: no native bf16 on this {device.type}"


@contextmanager
def cached_weight_casts(device: torch.device, precision: str) -> Iterator[None]:
    """Within: an autocast context of ``precision`` held open across calls, so that bf16 autocast casts each
    weight once (its cast cache lives until the outermost autocast context exits) instead of once per frame;
    the per-frame autocast contexts nested inside compute the same values. For inference only: the cached casts
    do not follow weights that change."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        yield
