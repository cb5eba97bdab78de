"""Training throughput per experiment preset: samples/s and peak RSS at the default crop and batch.

Each preset runs in a fresh subprocess (so peak RSS is its own): the default synthetic training data, the
preset's network and loss, AdamW, and the default trainer precision (bf16 autocast on CPU) with channels_last,
``--steps`` optimisation steps after ``--warmup`` steps. Writes ``outputs/bench/train.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from benchmarks.common import peak_rss_mb, stats, write_results

# the newest `make train` run (its metrics.json holds the validation gain per training minute)
MAKE_TRAIN_METRICS = Path("outputs/train/latest/metrics.json")

PRESETS = ("tcsvt", "fac", "content_encoder", "static_encoder", "static_encoder_wide", "no_warp_loss")


def worker(preset: str, steps: int, warmup: int) -> dict[str, Any]:
    """Time ``steps`` training steps of ``preset`` in this process."""
    from hydra.utils import instantiate

    from flowdeblur.build import build_datamodule, build_module
    from flowdeblur.config import compose_config
    from flowdeblur.metrics.complexity import count_macs

    cfg = compose_config([f"experiment={preset}", "lpips_metric=false"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    module = build_module(cfg).to(device).to(memory_format=torch.channels_last)
    batches = iter(build_datamodule(cfg).train_dataloader())
    optimizer = instantiate(cfg.optim.optimizer)(module.parameters())
    times = []
    for step in range(warmup + steps):
        batch = {k: v.to(device) for k, v in next(batches).items()}
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = module.training_step(batch, step)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    batch_size = cfg.data.batch_size
    crop = cfg.data.train.crop
    return {
        "preset": preset,
        "device": str(device),
        "config": {
            "batch_size": batch_size,
            "crop": crop,
            "num_frames": module.net.num_frames,
            "precision": "bf16-autocast",
            "channels_last": True,
        },
        "step_s": stats(times),
        "samples_per_s": batch_size / stats(times)["median"],
        "peak_rss_mb": peak_rss_mb(),
        "params": sum(p.numel() for p in module.net.parameters()),
        "macs": count_macs(module.net.float(), crop, crop),
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="3 steps after 1 warm-up step")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup = 3, 1
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps, args.warmup)))
        return []
    records = []
    for preset in args.presets:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.bench_train",
            "--worker",
            preset,
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        records.append(json.loads(out.strip().splitlines()[-1]))
    table = Table(title="training throughput (per preset)")
    for col in ("preset", "device", "samples/s", "step median (s)", "peak RSS (MiB)", "params (M)", "GMACs"):
        table.add_column(col, justify="right")
    for r in records:
        table.add_row(
            r["preset"],
            r["device"],
            f"{r['samples_per_s']:.2f}",
            f"{r['step_s']['median']:.3f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['params'] / 1e6:.2f}",
            f"{r['macs'] / 1e9:.2f}",
        )
    Console().print(table)
    if learning := make_train_learning():
        records.append(learning)
        print(
            f"make train ({learning['run']}): +{learning['val_gain_db']:.2f} dB on validation in "
            f"{learning['train_s'] / 60:.1f} training minutes = {learning['val_db_per_train_min']:.3f} dB per minute"
        )
    print(f"wrote {write_results('train', records)}")
    return records


def make_train_learning(path: Path = MAKE_TRAIN_METRICS) -> dict[str, Any] | None:
    """dB gained per training minute by the newest ``make train`` run, or None when there is none."""
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    if "val/psnr_gain_per_min" not in metrics:
        return None
    return {
        "preset": "make train",
        "run": str(path.parent.resolve()),
        "val_gain_db": metrics["val/psnr"] - metrics["val/psnr_input"],
        "train_s": metrics["time/train_s"],
        "val_db_per_train_min": metrics["val/psnr_gain_per_min"],
    }


if __name__ == "__main__":
    main()
