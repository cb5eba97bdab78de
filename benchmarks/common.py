"""What every benchmark shares: machine description, repeat statistics, peak RSS, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from pathlib import Path
from typing import Any

import torch

OUT_DIR = Path("outputs/bench")


def machine() -> dict[str, Any]:
    """CPU model, cores, threads, load (1/5/15-minute averages), torch version and accelerator of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "ld_preload": os.environ.get("LD_PRELOAD", ""),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def stats(samples: list[float]) -> dict[str, float]:
    """Median and spread (min, max) of repeated measurements."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_results(name: str, records: list[dict[str, Any]]) -> Path:
    """Write ``{"machine": ..., "records": [...]}`` to ``outputs/bench/<name>.json``."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), "records": records}, indent=2) + "\n")
    return path
