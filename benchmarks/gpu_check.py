"""``make gpu-check``: proves the GPU path on one CUDA device in at most ~8 minutes (an H100), without network.

``PYTHONPATH=src python -m benchmarks.gpu_check [--quick] [--only PART ...] [--out outputs/gpu_check]``

Parts (:mod:`benchmarks.gpu_parts`), each guarded (a failure is recorded and the others still run):
environment (CUDA, device, bf16, Triton), fused_ops (every scan impl and the cost volumes against the
reference on the device: values and gradients, all directions, NCHW and channels-last; the fused census,
smoothness and warp ops against their PyTorch versions), data_stream (synthetic
clips/s rendered on the device, target >= 200 at 256²), training (200 bf16-mixed steps of the default preset
at 256² through Lightning: loss finite, samples/s, peak memory, share of time the GPU is busy), inference
(720p frames/s and peak memory, whole frames and strips equal to whole frames), ddp (a one-GPU DDP fit over
NCCL with a validation whose metrics are gathered across ranks) and compile (training step time eager vs
``torch.compile``, the compile time, and per step of each the dispatched ops and the CUDA kernel launches: the
launch budget of ``make bench`` measured where it applies). ``--quick``: 20 steps, 640x360 frames, fewer repeats.

Writes ``<out>/gpu_check.json`` and prints a table. Without a CUDA device it prints one line and exits 2.

Runs on a machine whose torch (with CUDA) is preinstalled: no ``make install``. Besides torch it imports
numpy, scikit-image and matplotlib (the photos of the synthetic clips), scipy, opencv-python-headless,
kornia, safetensors, and these pure-Python packages, which can be carried as wheels or on ``PYTHONPATH``:
pytorch-lightning, lightning-utilities, torchmetrics, hydra-core, omegaconf, antlr4-python3-runtime, rich
(with markdown-it-py, mdurl, pygments), packaging, typing-extensions, fsspec, pyyaml.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch

PART_NAMES = ("environment", "fused_ops", "data_stream", "training", "inference", "ddp", "compile")


def run_parts(device: torch.device, names: list[str], quick: bool) -> dict[str, dict[str, Any]]:
    """Every part in ``names`` on ``device``; a failing part records its error and the rest still run."""
    from benchmarks.gpu_parts import FULL, PARTS, QUICK

    sizes = QUICK if quick else FULL
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        start = time.perf_counter()
        try:
            figures = {"ok": True, **PARTS[name](device, sizes)}
        except Exception as err:  # reported, and the next part runs
            figures = {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        figures["seconds"] = round(time.perf_counter() - start, 1)
        results[name] = figures
        print(f"{name}: {'ok' if figures['ok'] else 'FAILED ' + figures['error']} ({figures['seconds']} s)", flush=True)
    return results


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="flowdeblur GPU check")
    for column in ("part", "ok", "s", "figures"):
        table.add_column(column)
    for name, figures in results.items():
        shown = ", ".join(f"{k} {_show(v)}" for k, v in figures.items() if k not in ("ok", "seconds", "traceback"))
        table.add_row(name, "yes" if figures["ok"] else "[red]no[/red]", _show(figures["seconds"]), shown)
    Console(width=160).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run sizes")
    parser.add_argument("--only", nargs="+", choices=PART_NAMES, default=list(PART_NAMES))
    parser.add_argument("--out", type=Path, default=Path("outputs/gpu_check"))
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device: torch {torch.__version__} (CUDA build: {torch.version.cuda}) sees none")
        return 2
    device = torch.device("cuda", torch.cuda.current_device())
    results = run_parts(device, args.only, args.quick)
    print_table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "gpu_check.json"
    path.write_text(json.dumps({"quick": args.quick, "parts": results}, indent=2) + "\n")
    print(f"wrote {path}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
