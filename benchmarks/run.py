"""``make bench``: ops, training and inference benchmarks, then ``outputs/bench/summary.json`` merging them.

``python -m benchmarks.run [--quick]``; on a machine with CUDA every benchmark adds GPU records.
"""

from __future__ import annotations

import argparse
import json

from benchmarks import bench_infer, bench_ops, bench_train
from benchmarks.common import OUT_DIR, machine

PARTS = {"ops": bench_ops.main, "train": bench_train.main, "infer": bench_infer.main}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run sizes and repeats")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), default=list(PARTS))
    args = parser.parse_args(argv)
    for name in args.only:
        PARTS[name](["--quick"] if args.quick else [])
    summary = {"machine": machine()}
    for name in PARTS:
        path = OUT_DIR / f"{name}.json"
        if path.exists():
            summary[name] = json.loads(path.read_text())
    (OUT_DIR / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {OUT_DIR / 'summary.json'}")


if __name__ == "__main__":
    main()
