"""Write a :class:`~flowdeblur.reporting.aggregate.Report`: Markdown, CSV, LaTeX (booktabs) and the terminal."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table as RichTable

from flowdeblur.reporting.aggregate import STATUSES, Report
from flowdeblur.reporting.catalog import cost_keys
from flowdeblur.reporting.flags import flagged_runs
from flowdeblur.reporting.labels import label, override_label
from flowdeblur.reporting.table import Table, csv_text, markdown_table
from flowdeblur.reporting.tables import all_tables, compact_table

WIDTH = 120  # terminal columns the printed tables are made to fit


def status_line(report: Report) -> str:
    counts = ", ".join(f"{report.count(s)} {s}" for s in STATUSES if report.count(s))
    return f"{len(report.jobs)} runs: {counts}"


def sources_line(report: Report) -> str:
    return ", ".join(str(p) for p in report.sources)


def to_markdown(report: Report, extra: list[str] | None = None) -> str:
    """``report.md``: the paper table, every report table, the failed runs, then ``extra`` lines."""
    lines = [
        f"# Report: {sources_line(report)}",
        "",
        f"{status_line(report)}; `{report.stage}` split; statistics over seeds of completed runs.",
        "",
        "## Summary",
        "",
        *markdown_table(compact_table(report)),
    ]
    for table in all_tables(report):
        lines += ["", f"## {table.title[0].upper()}{table.title[1:]}", "", *markdown_table(table)]
    variants = [v for v in report.variants if v.options]
    if variants:
        lines += ["", "## Variants", ""]
        lines += [f"- **{v.label}**: `{override_label(v.options)}`" for v in variants]
    flagged = flagged_runs(report.jobs)
    if flagged:
        lines += ["", "## Runs that dropped values", ""]
        lines += [f"- `{job.path}`: {'; '.join(found)}" for job, found in flagged]
    if report.failed_jobs:
        lines += ["", "## Failed runs", ""]
        for job in report.failed_jobs:
            overrides = " ".join(f"{k}={v}" for k, v in job.overrides.items())
            lines.append(f"- `{job.path}` ({overrides}): {job.error}")
    return "\n".join([*lines, *(["", *extra] if extra else [])]) + "\n"


def to_csv(report: Report) -> str:
    """``report.csv``: one row per variant, full precision: per metric mean, std, n and 95% interval
    half-width, counts per status, and the paired differences with their intervals."""
    keys = [*report.metrics, *cost_keys(report.stage)]
    compared = list(dict.fromkeys(c.metric for c in report.comparisons))
    header = [
        "variant",
        *report.options,
        *STATUSES,
        *(f"{k}_{s}" for k in keys for s in ("mean", "std", "n", "ci95")),
        *(
            f"{k}_delta{s}"
            for k in compared
            for s in ("", "_low", "_high", "_n", "_p", "_p_holm", "_low_holm", "_high_holm")
        ),
    ]
    rows = []
    for variant in report.variants:
        deltas = {c.metric: c for c in report.comparisons if c.variant == variant.options}
        row: list[object] = [variant.label, *(v for _, v in variant.options), *(variant.count(s) for s in STATUSES)]
        for key in keys:
            stat = variant.stat(key)
            row += [stat.mean, stat.std, stat.n, stat.ci]
        for key in compared:
            c = deltas.get(key)
            row += [c.mean, *c.interval, len(c.seeds), c.p_value, c.p_holm, *c.holm_interval] if c else [""] * 8
        rows.append(row)
    return csv_text(header, rows)


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
LATEX_SYMBOLS = {"±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "–": "--", "∞": r"$\infty$"}


def latex_text(text: str) -> str:
    """Escape LaTeX's special characters; ± ↑ ↓ – ∞ become math symbols."""
    escaped = "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)
    for symbol, tex in LATEX_SYMBOLS.items():
        escaped = escaped.replace(symbol, tex)
    return escaped


def to_latex(report: Report) -> str:
    """``report.tex``: the paper table as a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
    table = compact_table(report)
    spec = "l" + "r" * (len(table.header) - 1)
    lines = [
        f"% {table.title}; {status_line(report)}; source: {sources_line(report)}",
        f"\\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_text(h) for h in table.header) + r" \\",
        r"\midrule",
    ]
    for i, row in enumerate(table.rows):
        lines.append(" & ".join(latex_text(c) for c in row) + r" \\")
        if i == 0 and row[0] == "blurry input" and len(table.rows) > 1:
            lines.append(r"\midrule")
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"]) + "\n"


def rich_table(table: Table) -> RichTable:
    out = RichTable(box=box.SIMPLE_HEAD, padding=(0, 1))
    for i, name in enumerate(table.header):
        out.add_column(
            name,
            justify="left" if i < table.labels else "right",
            max_width=28 if i < table.labels else None,
            overflow="fold",
        )
    for row in table.rows:
        out.add_row(*row)
    return out


def report_console(console: Console | None = None) -> Console:
    """``console`` (default: a new one) made at most :data:`WIDTH` columns wide (exactly that when the output is
    not a terminal)."""
    console = console or Console()
    if not console.is_terminal or console.width > WIDTH:
        console.width = WIDTH
    return console


def print_report(report: Report, console: Console | None = None) -> None:
    """Print every table; fits :data:`WIDTH` columns (a narrower terminal wraps the label columns)."""
    console = report_console(console)
    console.print(f"[bold]{sources_line(report)}[/bold] — {status_line(report)}")
    for table in all_tables(report):
        console.print(f"\n[bold]{table.title}[/bold]", overflow="fold")
        console.print(rich_table(table))
    for job, found in flagged_runs(report.jobs):
        console.print(f"[yellow]dropped values[/yellow] {job.path}: {'; '.join(found)}", overflow="fold")
    for job in report.failed_jobs:
        console.print(f"[red]failed[/red] {job.path}: {job.error}", overflow="fold")
    if report.comparisons:
        console.print(
            f"baseline of the paired comparison: {label(tuple(report.baseline.items()))} "
            "(choose with --baseline option=value)"
        )
