"""The memory-bandwidth floor of an op: the bytes it must move over the copy bandwidth of this machine.

An op that reads and writes each tensor of its interface once cannot beat a copy of the same number of bytes.
``bytes_moved`` counts, per op and pass, the tensors read and written once each (float32, 4 bytes a value):

- gated scan, x (B, C, H, W), gates and states (B, 4C, H, W):
  fwd reads x and the gates, writes h: ``9 BCHW`` values; the backward reads x, the gates, the saved states
  and dL/dh, writes dL/dx and dL/dgates: ``18 BCHW`` more, so fwd+bwd moves ``27 BCHW`` values.
- per-pixel filtering, x (B, C, H, W), filters (B, G k², H, W): fwd reads x and the filters, writes the
  output: ``(2C + G k²) BHW``; the backward reads dL/dout, x and the filters, writes dL/dx and dL/dfilters:
  ``(3C + 2 G k²) BHW`` more.

:class:`Copier` times ``dst.copy_(src)`` between two preallocated buffers far larger than the caches (bytes
read + bytes written over the time) with the thread count in force; a benchmark runs one copy before every
timed call of an op, so that on a shared machine the op and its floor are sampled under the same load, and
takes the best copy as the bandwidth. ``copy_bandwidth`` also times copies into a fresh output
(``empty_like(src).copy_(src)``, what an op returning a new tensor pays in a default process: the kernel maps
and zeroes its pages on first touch), so that a report can tell memory bandwidth from page-fault cost.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

FLOAT_BYTES = 4


def bytes_moved(op: str, pass_: str, shape: tuple[int, ...], extra: dict[str, Any]) -> int:
    """Bytes that ``op`` must read and write at least in ``pass_`` ("fwd" or "fwd+bwd") for input ``shape``."""
    b, c, h, w = shape
    if op in ("scan", "scan_cl"):
        values = {"fwd": 9, "fwd+bwd": 27}[pass_] * c
    elif op == "filter":
        taps = extra["filters"][1]
        values = {"fwd": 2 * c + taps, "fwd+bwd": 5 * c + 3 * taps}[pass_]
    else:
        raise ValueError(f"bytes_moved: unknown op '{op}'")
    return FLOAT_BYTES * values * b * h * w


class Copier:
    """A copy of ``megabytes`` between two preallocated buffers on ``device``, timed call by call."""

    def __init__(self, megabytes: int = 256, device: torch.device | str = "cpu") -> None:
        self.src = torch.ones(megabytes * 2**20 // FLOAT_BYTES, device=device)
        self.dst = torch.empty_like(self.src)
        self.dst.copy_(self.src)
        self.times: list[float] = []

    def once(self) -> None:
        self.times += _times(lambda: self.dst.copy_(self.src), 1, self.src.device)

    def bandwidth(self) -> dict[str, float]:
        """Best and median GB/s (read + write) of the copies timed so far."""
        moved = 2 * self.src.numel() * FLOAT_BYTES
        return {
            "best_gbs": moved / min(self.times) / 1e9,
            "median_gbs": moved / statistics.median(self.times) / 1e9,
            "copies": len(self.times),
        }


def copy_bandwidth(megabytes: int = 256, repeats: int = 7, device: torch.device | str = "cpu") -> dict[str, float]:
    """Copy bandwidth in GB/s (bytes read + written per second): best and median of ``repeats`` copies.

    ``best_gbs``/``median_gbs`` between preallocated buffers; ``fresh_best_gbs`` into a new tensor each time.
    """
    src = torch.ones(megabytes * 2**20 // FLOAT_BYTES, device=device)
    dst = torch.empty_like(src)
    moved = 2 * src.numel() * FLOAT_BYTES
    dst.copy_(src)
    times = _times(lambda: dst.copy_(src), repeats, src.device)
    fresh = _times(lambda: torch.empty_like(src).copy_(src), repeats, src.device)
    return {
        "best_gbs": moved / min(times) / 1e9,
        "median_gbs": moved / statistics.median(times) / 1e9,
        "fresh_best_gbs": moved / min(fresh) / 1e9,
        "buffer_mb": float(megabytes),
        "repeats": repeats,
    }


def floor_record(record: dict[str, Any], bandwidth: dict[str, float]) -> dict[str, Any]:
    """``record`` (an op timing with ``min_s``, ``median_s``) against its floor at ``bandwidth["best_gbs"]``."""
    moved = bytes_moved(record["op"], record["pass"], tuple(record["shape"]), record)
    floor_s = moved / (bandwidth["best_gbs"] * 1e9)
    return {
        "bytes": moved,
        "copy_gbs": bandwidth["best_gbs"],
        "floor_s": floor_s,
        "ratio_min": record["min_s"] / floor_s,
        "ratio_median": record["median_s"] / floor_s,
    }


def _times(fn: Any, repeats: int, device: torch.device) -> list[float]:
    out = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - start)
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
