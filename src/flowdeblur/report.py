"""Compare runs: ``python -m flowdeblur.report <run or sweep dir | folder | glob> ... [--baseline option=value]``.

Takes any mix of single runs (``outputs/train/<date>/<time>``), sweeps (``multirun/<date>/<time>``), Optuna sweeps,
folders holding them (``outputs/train``) and glob patterns, and groups every run into *variants*: the options
whose values differ between runs, the seed excluded. Per variant: the blurry input, the restored frames and the
gain, on the whole frame and on static and moving regions, flow error, parameters (effective and total), MACs
and training time, as mean ± std over seeds; each variant against a baseline, paired by seed, with a 95%
t-interval, and Holm's correction across the comparisons of each metric. Runs that dropped values (NaN frames,
skipped steps, fewer clips) are flagged. ``--tuned option`` keeps, per variant, the runs at the value of that
option with the best mean validation PSNR (e.g. each variant's learning rate) and writes the choices, one line of
overrides per variant, to ``choices.txt``. Optuna sweeps add their trials, best parameters and parameter
importances.

Writes ``report.md``, ``report.csv``, ``report.tex`` (booktabs) and the figures ``report``, ``report_delta``
(and ``optuna`` for a study) as PNG, PDF and SVG into ``--out``: by default the one directory given, else
``outputs/report/<date>/<time>``. Runs still going are counted, not averaged; failed runs are listed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console

from flowdeblur.reporting.aggregate import Report, build_report
from flowdeblur.reporting.figure import delta_figure, report_figure, save_figure
from flowdeblur.reporting.jobs import ReportInputError, expand
from flowdeblur.reporting.optuna_study import (
    StudyReport,
    find_studies,
    load_study_report,
    study_figure,
    summary_lines,
    trials_table,
)
from flowdeblur.reporting.render import (
    print_report,
    report_console,
    rich_table,
    to_csv,
    to_latex,
    to_markdown,
)
from flowdeblur.reporting.table import markdown_table
from flowdeblur.reporting.tuning import choice_overrides
from flowdeblur.runs.run_dir import point_latest
from flowdeblur.utils.files import write_text_atomic

REPORT_ROOT = Path("outputs/report")


def default_out_dir(paths: Sequence[Path]) -> Path:
    """The one directory given, else ``outputs/report/<date>/<time>`` (with ``outputs/report/latest``)."""
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    return REPORT_ROOT / datetime.now().strftime("%Y-%m-%d/%H-%M-%S")


def study_markdown(study: StudyReport) -> list[str]:
    lines = [f"## Optuna study: {study.sweep_dir}", "", *(f"- {line}" for line in summary_lines(study))]
    return lines + ["", *markdown_table(trials_table(study))] if study.trials else lines


def write_report(report: Report, out_dir: str | Path, studies: Sequence[StudyReport] = ()) -> dict[str, Path]:
    """Write every file of the report into ``out_dir``; returns name -> path of what was written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = [line for study in studies for line in (*study_markdown(study), "")]
    written = {
        "markdown": write_text_atomic(out_dir / "report.md", to_markdown(report, extra)),
        "csv": write_text_atomic(out_dir / "report.csv", to_csv(report)),
        "latex": write_text_atomic(out_dir / "report.tex", to_latex(report)),
    }
    figures = {"report": report_figure(report), "report_delta": delta_figure(report)}
    if report.choices:
        written["choices"] = write_text_atomic(
            out_dir / "choices.txt", "\n".join(choice_overrides(report.choices)) + "\n"
        )
    for i, study in enumerate(studies):
        figures[f"optuna{i or ''}"] = study_figure(study)
    for stem, fig in figures.items():
        if fig is not None:
            written.update({f"{stem}.{p.suffix[1:]}": p for p in save_figure(fig, out_dir / stem)})
    return written


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m flowdeblur.report", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths",
        nargs="+",
        help="run dirs, sweep dirs, folders holding them, or glob patterns "
        "(quote them), e.g. 'outputs/train/2026-01-31/*' multirun/latest",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        help="option=value[,option=value] of swept options, e.g. experiment=tcsvt (default: the "
        "first run's variant); options left out are matched, e.g. a baseline per backbone",
    )
    parser.add_argument(
        "--stage",
        default="auto",
        choices=("auto", "val", "test"),
        help="split whose metrics are reported (auto: test when logged, else val)",
    )
    parser.add_argument("--seed-key", default="seed", help="the option that names the seed")
    parser.add_argument(
        "--tuned",
        default=None,
        help="an option chosen per variant by mean val/psnr over seeds, e.g. optim.optimizer.lr: only the runs "
        "at each variant's best value are reported; the choices go to choices.txt",
    )
    parser.add_argument(
        "--out", default=None, help="where the files go (default: the one dir given, else outputs/report/<date>/<time>)"
    )
    return parser.parse_args(argv)


def print_study(study: StudyReport, console: Console) -> None:
    for line in summary_lines(study):
        console.print(line, soft_wrap=True)
    if study.complete:
        table = trials_table(study)
        console.print(f"\n[bold]{table.title}[/bold]")
        console.print(rich_table(table))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = report_console()
    try:
        paths = expand(args.paths)
        studies = [load_study_report(d) for d in find_studies(paths)]
        try:
            report = build_report(paths, args.baseline, args.stage, args.seed_key, args.tuned)
        except ReportInputError:
            if not studies:
                raise
            for study in studies:  # a study whose first job has not started yet: its state is all there is
                print_study(study, console)
            return 0
    except ReportInputError as err:
        print(f"flowdeblur.report: error: {err}", file=sys.stderr)
        return 2
    print_report(report, console)
    for study in studies:
        print_study(study, console)
    out_dir = Path(args.out) if args.out else default_out_dir(paths)
    written = write_report(report, out_dir, studies)
    if not args.out and out_dir.parent.parent == REPORT_ROOT:
        point_latest(REPORT_ROOT, out_dir)
    console.print(f"wrote {', '.join(sorted({p.name for p in written.values()}))} into {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
