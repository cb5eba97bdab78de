"""Report a sweep: ``python -m flowdeblur.report <sweep dir> [--baseline option=value] [--stage val|test]``.

Aggregates the jobs' ``metrics.json`` into one row per variant (every swept option except the seed): mean ±
std over seeds of PSNR, SSIM (LPIPS when logged), PSNR on static and moving regions, params, MACs and training
time, and compares each variant with a baseline, paired by seed (mean difference and 95% t-interval). Writes
``report.md``, ``report.csv`` and ``report.png`` into the sweep dir and prints the tables. Jobs still running
are skipped and counted, failed ones counted and listed, so it can be run while a sweep is in progress.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from flowdeblur.reporting.aggregate import Report, build_report
from flowdeblur.reporting.jobs import ReportInputError
from flowdeblur.reporting.plot import save_report_figure
from flowdeblur.reporting.render import print_report, to_csv, to_markdown
from flowdeblur.utils.io import write_text_atomic


def write_report(report: Report, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.csv`` and ``report.png`` into ``out_dir`` (default: the sweep dir)."""
    out_dir = Path(out_dir or report.sweep_dir)
    return {
        "markdown": write_text_atomic(out_dir / "report.md", to_markdown(report)),
        "csv": write_text_atomic(out_dir / "report.csv", to_csv(report)),
        "figure": save_report_figure(report, out_dir / "report.png"),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m flowdeblur.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", help="a multirun dir, e.g. multirun/2026-01-31/12-00-00")
    parser.add_argument("--baseline", default=None,
                        help="option=value[,option=value] of swept options (default: the first job's "
                             "variant); options left out are matched, e.g. a baseline per backbone")
    parser.add_argument("--stage", default="auto", choices=("auto", "val", "test"),
                        help="split whose metrics are reported (auto: test when logged, else val)")
    parser.add_argument("--seed-key", default="seed", help="the option that names the seed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = build_report(args.sweep_dir, args.baseline, args.stage, args.seed_key)
    except ReportInputError as err:
        print(f"flowdeblur.report: {err}", file=sys.stderr)
        return 2
    print_report(report)
    for path in write_report(report).values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
