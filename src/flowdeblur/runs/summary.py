"""The short table printed at the end of a training or evaluation run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flowdeblur.runs.job_log import to_log_files


def print_summary(metrics: Mapping[str, float], stages: tuple[str, ...], where: Mapping[str, Path | str]) -> None:
    """PSNR/SSIM of the blurry input vs the restored output per stage, then where the outputs went."""
    table = Table(title="flowdeblur results")
    table.add_column("split")
    for col in ("PSNR input", "PSNR restored", "gain (dB)", "SSIM input", "SSIM restored"):
        table.add_column(col, justify="right")
    for stage in stages:
        if f"{stage}/psnr" not in metrics:
            continue
        p_in, p_out = metrics.get(f"{stage}/psnr_input", float("nan")), metrics[f"{stage}/psnr"]
        s_in, s_out = metrics.get(f"{stage}/ssim_input", float("nan")), metrics.get(f"{stage}/ssim", float("nan"))
        table.add_row(stage, f"{p_in:.2f}", f"{p_out:.2f}", f"{p_out - p_in:+.2f}", f"{s_in:.4f}", f"{s_out:.4f}")
    console = Console(record=True)
    console.print(table)
    for name, path in where.items():
        console.print(f"[bold]{name}[/bold]: {path}", soft_wrap=True)  # paths and commands stay on one line
    to_log_files(console.export_text())


def print_parameters(summary: Mapping[str, float | str]) -> None:
    """One line with the network's own parameter counts (training-only parts such as the LPIPS metric network
    are not part of the model), e.g. ``model: 1.54 M parameters (effective 1.21 M; flow 0.31 M, ...)``."""
    total = summary.get("params/total")
    if not isinstance(total, (int, float)):
        return
    parts = [
        f"{key.split('/', 1)[1]} {millions(value)}"
        for key, value in summary.items()
        if key.startswith("params/") and key not in ("params/total", "params/effective")
    ]
    effective = summary.get("params/effective")
    head = f"effective {millions(effective)}; " if isinstance(effective, (int, float)) else ""
    console = Console(record=True)
    console.print(f"[bold]model[/bold]: {millions(total)} parameters ({head}{', '.join(parts)})", soft_wrap=True)
    to_log_files(console.export_text())


def millions(count: float | str) -> str:
    return f"{float(count) / 1e6:.2f} M"
