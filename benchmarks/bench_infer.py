"""Inference cost of one 1280x720 frame: seconds per frame and peak RSS per tile size and precision.

Usage: ``python -m benchmarks.bench_infer [--quick] [--tiles full,384] [--precisions auto,fp32,bf16]
[--device cpu|cuda]`` (``--override KEY=VALUE ...`` changes the train config the network is built from).

Each setting runs in a fresh process (so that its peak RSS is its own) through the path ``flowdeblur.infer``
takes (:func:`flowdeblur.infer.window_restorer`: tiles, channels-last weights, the precision that
``precision=auto`` chooses or the one asked for): build the network from the default config (random weights; the
cost does not depend on them), restore one random window ``warmup`` times, then time ``repeats`` restorations,
with the allocator a user has (``--allocator tcmalloc`` preloads tcmalloc where it is installed). Prints a table
and writes ``outputs/bench/infer.json``: one record per setting with the machine, the config, the median seconds
per frame, the spread (min, max) and the peak RSS in MiB (on CUDA also the peak GPU memory allocated, with
``torch.cuda.synchronize`` closing every timed call). The median process CPU time divided by the thread
count is reported beside the wall time: on a shared machine it estimates the wall time of an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_RSS_MB = 1.0, 1536.0
TCMALLOC = Path("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", default="full,384", help="comma-separated sizes; full = untiled")
    parser.add_argument("--precisions", default="auto,fp32", help="comma-separated: auto, fp32, bf16")
    parser.add_argument(
        "--allocator", choices=("tcmalloc", "default"), default="default", help="tcmalloc: preload it (if installed)"
    )
    parser.add_argument("--overlap", type=int, default=None, help="context rows of strips (default: infer's)")
    parser.add_argument("--size", default="720x1280", help="frame height x width")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="the torch device the network runs on (cpu, cuda, cuda:1)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--override", nargs="*", default=[], help="Hydra overrides of the train config")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench" / "infer.json")
    parser.add_argument("--quick", action="store_true", help="whole frame, auto precision, 2 repeats")
    parser.add_argument("--worker", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.tiles, args.precisions, args.repeats = "full", "auto", 2
    if args.overlap is None:
        from flowdeblur.inference.tiled import OVERLAP

        args.overlap = OVERLAP
    return args


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Time one tile size in this process; returns its record."""
    import torch

    from benchmarks.common import machine
    from flowdeblur.config import compose_config
    from flowdeblur.infer import window_restorer
    from flowdeblur.inference.precision import resolve_precision
    from flowdeblur.inference.tiled import TiledNet
    from flowdeblur.network import build_net

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = compose_config(list(args.override))
    torch.manual_seed(0)
    net = build_net(cfg.model).eval().to(device, memory_format=torch.channels_last)
    tile_name, asked = args.worker
    precision, why = resolve_precision(asked, device)
    tile = None if tile_name == "full" else int(tile_name)
    height, width = (int(v) for v in args.size.split("x"))
    restore = window_restorer(TiledNet(net, tile, args.overlap), net.target, device, precision)
    window = torch.rand(net.num_frames, 3, height, width)
    times, cpu_times = [], []
    for i in range(args.warmup + args.repeats):
        if i == args.warmup and device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        restore(window)  # returns the frame on the CPU: the copy waits for the device
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    return {
        "tile": tile_name,
        "precision": precision,
        "precision_choice": why,
        "channels_last": True,
        "allocator": args.allocator,
        "overlap": args.overlap,
        "frame": f"{width}x{height}",
        "num_frames": net.num_frames,
        "threads": args.threads,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "times_s": times,
        "median_cpu_s": statistics.median(cpu_times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": str(device),
        "peak_gpu_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "params": sum(p.numel() for p in net.parameters()),
        "config": {
            "overrides": list(args.override),
            "source": cfg.model.source._target_,
            "flow": cfg.model.flow.get("_target_"),
            "layer": (cfg.model.get("layer") or {}).get("_target_"),
        },
        "machine": machine(),
    }


def run_one(args: argparse.Namespace, tile: str, precision: str) -> dict[str, Any]:
    """One setting in a fresh interpreter."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_infer",
        "--worker",
        tile,
        precision,
        "--allocator",
        args.allocator,
        "--overlap",
        str(args.overlap),
        "--size",
        args.size,
        "--threads",
        str(args.threads),
        "--device",
        args.device,
        "--warmup",
        str(args.warmup),
        "--repeats",
        str(args.repeats),
        "--override",
        *args.override,
    ]
    env = dict(os.environ)
    if args.allocator == "tcmalloc":
        env["LD_PRELOAD"] = str(TCMALLOC)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"tile {tile}, {precision}: the benchmark process failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(records: list[dict[str, Any]], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    first = records[0]
    table = Table(
        title=f"flowdeblur inference: one {first['frame']} frame on {first['device']}, {first['threads']} threads, "
        f"{first['allocator']} allocator"
    )
    columns = ["tile", "precision", "median s/frame", "min–max s", "CPU s / threads", "peak RSS MiB", "in target"]
    gpu = first["peak_gpu_mb"] is not None
    for column in [*columns, "peak GPU MiB"] if gpu else columns:
        table.add_column(column, justify="right")
    for r in records:
        ok = r["median_s"] <= TARGET_S and r["peak_rss_mb"] <= TARGET_RSS_MB
        table.add_row(
            r["tile"],
            r["precision"] + (" (auto)" if r["precision_choice"].startswith("auto") else ""),
            f"{r['median_s']:.2f}",
            f"{r['min_s']:.2f}–{r['max_s']:.2f}",
            f"{r['median_cpu_s'] / r['threads']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            "yes" if ok else "no",
            *([f"{r['peak_gpu_mb']:.0f}"] if gpu else []),
        )
    Console().print(table)
    for why in sorted({r["precision_choice"] for r in records if r["precision_choice"].startswith("auto")}):
        Console().print(f"precision {why}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"target": {"s_per_frame": TARGET_S, "peak_rss_mb": TARGET_RSS_MB}, "records": records}, indent=2)
        + "\n"
    )
    Console().print(f"[bold]written[/bold]: {out}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return
    settings = [(t.strip(), p.strip()) for t in args.tiles.split(",") for p in args.precisions.split(",")]
    report([run_one(args, tile, precision) for tile, precision in settings], args.out)


if __name__ == "__main__":
    main()
