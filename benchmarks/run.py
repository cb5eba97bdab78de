"""``make bench``: ops, training, inference, launch-budget/compile and data-stream benchmarks, then
``outputs/bench/summary.json`` merging them.

``python -m benchmarks.run [--quick] [--only ops train infer step data]``; on a machine with CUDA the ops and
training benchmarks add GPU records (``bench_infer --device cuda`` and ``bench_data --device cuda`` time the
GPU). The summary leads with ``floors``: for every op, pass and thread count of the ops benchmark, the bytes
the op must move, the copy bandwidth measured in the same run, the floor time and the ratios time / floor
(printed too).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from benchmarks import bench_data, bench_infer, bench_ops, bench_step, bench_train
from benchmarks.bench_ops import TARGETS
from benchmarks.common import OUT_DIR, machine

PARTS = {
    "ops": bench_ops.main,
    "train": bench_train.main,
    "infer": bench_infer.main,
    "step": bench_step.main,
    "data": bench_data.main,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run sizes and repeats")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), default=list(PARTS))
    args = parser.parse_args(argv)
    for name in args.only:
        PARTS[name](["--quick"] if args.quick else [])
    summary: dict[str, Any] = {"machine": machine()}
    for name in PARTS:
        path = OUT_DIR / f"{name}.json"
        if path.exists():
            summary[name] = json.loads(path.read_text())
    if "ops" in summary:
        summary = {"floors": floors(summary["ops"]["records"]), **summary}
        print_floors(summary["floors"])
    (OUT_DIR / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {OUT_DIR / 'summary.json'}")


def floors(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per op record that is not the reference: time against the memory-bandwidth floor."""
    keep = ("op", "pass", "impl", "device", "threads", "shape", "min_s", "median_s")
    return [
        {**{k: r[k] for k in keep}, **r["floor"], "target": TARGETS.get((r["op"], r["pass"]))}
        for r in records
        if r["impl"] != "reference" and "floor" in r
    ]


def print_floors(lines: list[dict[str, Any]]) -> None:
    for f in lines:
        target = "" if f["target"] is None else f"  (target <= {f['target']:g})"
        print(
            f"floor {f['op']:6s} {f['pass']:7s} {f['impl']:7s} {f['device']} {f['threads']} thr: "
            f"{f['bytes'] / 1e6:6.0f} MB at {f['copy_gbs']:5.1f} GB/s = {1e3 * f['floor_s']:6.1f} ms; "
            f"time {1e3 * f['min_s']:7.1f} / {1e3 * f['median_s']:7.1f} ms (min / median) = "
            f"{f['ratio_min']:5.2f} / {f['ratio_median']:5.2f} x floor{target}"
        )


if __name__ == "__main__":
    main()
