"""The training data stream alone: synthetic clips per second at 256², from the CPU loader and from the
device renderer (:mod:`flowdeblur.data.device_stream`), without a network.

``python -m benchmarks.bench_data [--quick] [--crop 256] [--batches 6] [--device cpu|cuda]``

Both paths go through the data module of the default data config (``data.render_on=cpu`` or ``device``,
``data.num_workers`` as configured, ``auto`` resolved for this machine) with the default batch size: the
first batch (worker start-up) is not timed, then ``--batches`` batches are taken and moved to the device as
Lightning moves them (``transfer_batch_to_device``, where the device renderer renders); on CUDA the clock stops
after ``torch.cuda.synchronize``. Writes ``outputs/bench/data.json``. The GPU target is >= 200 clips/s at 256²;
on CPU the device renderer runs the same code on the CPU, in the main process.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from benchmarks.common import OUT_DIR, write_results
from flowdeblur.build import build_datamodule
from flowdeblur.config import compose_config

TARGET_CLIPS_S = 200.0


def stream_rate(
    render_on: str, device: torch.device, crop: int, batches: int, overrides: list[str] = ()
) -> dict[str, Any]:
    """Clips/s of the training stream (module docstring) rendered ``render_on`` (cpu | device) onto ``device``."""
    cfg = compose_config([*overrides, f"data.train.crop={crop}", f"data.render_on={render_on}"], output_dir=OUT_DIR)
    datamodule = build_datamodule(cfg)
    datamodule.detached_device = device
    loader = iter(datamodule.train_dataloader())
    datamodule.transfer_batch_to_device(next(loader), device, 0)
    clips = 0
    start = time.perf_counter()
    for _ in range(batches):
        batch = datamodule.transfer_batch_to_device(next(loader), device, 0)
        clips += int(batch["blurry"].shape[0])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    return {
        "render_on": render_on,
        "device": str(device),
        "crop": crop,
        "batch_size": int(cfg.data.batch_size),
        "num_workers": datamodule.num_workers,
        "clips": clips,
        "seconds": seconds,
        "clips_per_s": clips / seconds,
        "target_clips_per_s": TARGET_CLIPS_S if device.type == "cuda" else None,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="3 batches")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches = 3
    torch.set_num_threads(1)
    device = torch.device(args.device)
    records = [stream_rate(path, device, args.crop, args.batches) for path in ("cpu", "device")]
    table = Table(title=f"training data stream alone (synthetic clips, {args.crop}², no network)")
    for column in ("rendered", "onto", "batch", "workers", "clips/s"):
        table.add_column(column, justify="right")
    for r in records:
        where = "loader workers (CPU)" if r["render_on"] == "cpu" else f"device renderer ({r['device']})"
        table.add_row(where, r["device"], str(r["batch_size"]), str(r["num_workers"]), f"{r['clips_per_s']:.1f}")
    Console().print(table)
    print(f"wrote {write_results('data', records)}")
    return records


if __name__ == "__main__":
    main()
