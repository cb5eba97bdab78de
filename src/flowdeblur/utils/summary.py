"""The short table printed at the end of a training or evaluation run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table


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
    console = Console()
    console.print(table)
    for name, path in where.items():
        console.print(f"[bold]{name}[/bold]: {path}")
