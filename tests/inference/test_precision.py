"""Inference precision: auto picks bf16 exactly where the device has native bf16, and says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from flowdeblur.inference.precision import cached_weight_casts, native_bf16, resolve_precision

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"), [(True, False, "bf16"), (False, True, "bf16"), (False, False, "fp32")]
)
def test_auto_follows_the_cpus_native_bf16(
    monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool, amx: bool, expected: str
) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    precision, why = resolve_precision("auto", CPU)
    assert precision == expected
    assert why == f"auto: {'native' if expected == 'bf16' else 'no native'} bf16 on this cpu"


@pytest.mark.parametrize("asked", ["fp32", "bf16"])
def test_an_explicit_choice_is_kept(asked: str) -> None:
    assert resolve_precision(asked, CPU) == (asked, "as asked")


def test_unknown_precision_names_the_option() -> None:
    with pytest.raises(ValueError, match=r"precision: expected one of \['auto', 'fp32', 'bf16'\], got 'fp16'"):
        resolve_precision("fp16", CPU)


def test_this_machines_answer_matches_its_cpu_flags() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    flags = cpuinfo.read_text().split()
    assert native_bf16(CPU) == ("avx512_bf16" in flags or "amx_tile" in flags)


class CastCounter(TorchDispatchMode):
    """Counts dtype conversions (``aten._to_copy``) dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.casts = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.casts += func.overloadpacket is torch.ops.aten._to_copy
        return func(*args, **(kwargs or {}))


def test_cached_weight_casts_cast_weights_once_per_stream() -> None:
    """Frames after the first cast only their input (not the conv's weight and bias) and give the same values."""
    conv = torch.nn.Conv2d(3, 4, 3)
    frames = torch.rand(3, 1, 3, 8, 8, generator=torch.Generator().manual_seed(0))

    @torch.no_grad()
    def restore(frame: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return conv(frame)

    alone = [restore(frame) for frame in frames]
    counts, streamed = [], []
    with cached_weight_casts(CPU, "bf16"):
        for frame in frames:
            with CastCounter() as counter:
                streamed.append(restore(frame))
            counts.append(counter.casts)
    assert counts == [3, 1, 1]
    for got, want in zip(streamed, alone, strict=True):
        assert got.dtype == torch.bfloat16
        torch.testing.assert_close(got, want, rtol=0, atol=0)
