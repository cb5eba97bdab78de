"""Two budgets side by side: a gap that closes with training reads as speed, one that stays as destination."""

from __future__ import annotations

from pathlib import Path

from flowdeblur.reporting.aggregate import build_report
from flowdeblur.reporting.budgets import budget_table
from tests.sweeping import write_job

# (experiment, steps) -> test PSNR per seed 0..4; tcsvt is the baseline at each budget
PSNR = {
    ("tcsvt", 900): (28.0, 28.3, 28.1, 28.2, 28.4),
    ("tcsvt", 2700): (29.0, 29.3, 29.1, 29.2, 29.4),
    ("fast_loser", 900): (27.5, 27.8, 27.6, 27.7, 27.9),  # -0.5 at 900 ...
    ("fast_loser", 2700): (29.1, 29.2, 29.0, 29.3, 29.4),  # ... caught up at 2700
    ("worse", 900): (27.5, 27.8, 27.6, 27.7, 27.9),  # -0.5 at both
    ("worse", 2700): (28.5, 28.8, 28.6, 28.7, 28.9),
    ("noisy", 900): (28.5, 27.8, 28.4, 27.9, 28.6),  # no consistent sign
    ("noisy", 2700): (29.5, 28.8, 29.4, 28.9, 29.6),
}


def test_budget_table_reads_speed_destination_and_unresolved(tmp_path: Path) -> None:
    num = 0
    for (experiment, steps), values in PSNR.items():
        for seed, psnr in enumerate(values):
            overrides = [f"experiment={experiment}", f"trainer.max_steps={steps}", f"seed={seed}"]
            write_job(tmp_path, num, overrides, {"status": "completed", "test/psnr": psnr, "test/psnr_input": 26.0})
            num += 1
    table = budget_table(build_report(tmp_path, baseline="experiment=tcsvt"))
    assert table is not None
    assert table.header == ["variant", "900 steps", "2700 steps", "reading"]
    readings = {row[0]: row[-1] for row in table.rows}
    assert readings == {"fast loser": "speed", "worse": "destination", "noisy": "unresolved"}
    worse = next(row for row in table.rows if row[0] == "worse")
    assert worse[1].startswith("-0.50 [") and worse[2].startswith("-0.50 [")


def test_no_budget_table_without_two_budgets(tmp_path: Path) -> None:
    for seed in range(2):
        write_job(tmp_path, seed, ["experiment=tcsvt", f"seed={seed}"], {"status": "completed", "test/psnr": 28.0})
        write_job(tmp_path, seed + 2, ["experiment=x", f"seed={seed}"], {"status": "completed", "test/psnr": 27.0})
    assert budget_table(build_report(tmp_path, baseline="experiment=tcsvt")) is None
