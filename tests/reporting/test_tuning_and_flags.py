"""The report chooses each variant's learning rate on validation (never test), corrects the paired comparison
with Holm, writes the choices as overrides, and flags runs that dropped values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from flowdeblur.report import main
from flowdeblur.reporting.aggregate import build_report
from tests.sweeping import write_job

# (experiment, lr) -> val PSNR per seed 0..2; test PSNR = val PSNR + TEST_SHIFT[(experiment, lr)]
VAL = {
    ("tcsvt", "0.0005"): (28.0, 28.2, 28.1),
    ("tcsvt", "0.001"): (27.8, 27.9, 27.7),
    ("static_encoder", "0.0005"): (27.4, 27.5, 27.6),
    ("static_encoder", "0.001"): (27.7, 27.6, 27.8),
    ("content_encoder", "0.0005"): (27.9, 28.3, 27.8),
    ("content_encoder", "0.001"): (27.0, 27.1, 27.2),
}
# the rate that loses on validation wins on test: a report that chose on test would pick it
TEST_SHIFT = {key: (1.0 if key[1] == "0.001" and key[0] == "tcsvt" else 0.0) for key in VAL}


def metrics(experiment: str, lr: str, seed: int) -> dict[str, float | str]:
    val = VAL[experiment, lr][seed]
    return {
        "status": "completed",
        "val/psnr": val,
        "val/psnr_input": 26.0,
        "test/psnr": val + TEST_SHIFT[experiment, lr],
        "test/psnr_input": 26.0,
        "test/clips": 256,
        "test/nan_frames": 0,
        "val/clips": 64,
        "val/nan_frames": 0,
    }


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    root = tmp_path / "lr"
    num = 0
    for (experiment, lr), values in VAL.items():
        for seed in range(len(values)):
            m = metrics(experiment, lr, seed)
            if (experiment, lr, seed) == ("static_encoder", "0.001", 2):
                m.update({"test/nan_frames": 2, "test/clips": 255, "train/skipped_steps": 3})
            overrides = ["+sweep=ablation_lr", f"experiment={experiment}", f"optim.optimizer.lr={lr}", f"seed={seed}"]
            write_job(root, num, overrides, m)
            num += 1
    return root


def test_each_variant_keeps_the_runs_at_its_best_validation_lr(sweep: Path) -> None:
    report = build_report(sweep, baseline="experiment=tcsvt", tuned="optim.optimizer.lr")
    chosen = {dict(c.options)["experiment"]: c.chosen for c in report.choices}
    assert chosen == {"tcsvt": "0.0005", "static_encoder": "0.001", "content_encoder": "0.0005"}
    assert report.options == ["experiment"] and report.stage == "test"
    by_name = {dict(v.options)["experiment"]: v for v in report.variants}
    assert by_name["tcsvt"].stat("test/psnr").mean == pytest.approx(28.1)  # not the test-better 1e-3 runs
    assert all(len(v.jobs) == 3 for v in report.variants)


def test_the_paired_table_is_holm_corrected_across_the_comparisons(sweep: Path) -> None:
    report = build_report(sweep, baseline="experiment=tcsvt", tuned="optim.optimizer.lr")
    psnr = [c for c in report.comparisons if c.metric == "test/psnr"]
    assert len(psnr) == 2 and all(c.family == 2 for c in psnr)
    ranked = sorted(psnr, key=lambda c: c.p_value)
    assert ranked[0].p_holm == pytest.approx(min(1.0, 2 * ranked[0].p_value))
    assert ranked[1].p_holm == pytest.approx(max(ranked[0].p_holm, ranked[1].p_value))
    for c in psnr:
        low, high = c.holm_interval
        raw_low, raw_high = c.interval
        assert low < raw_low and high > raw_high and not math.isnan(low)


def test_cli_writes_choices_holm_columns_and_flags(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--baseline", "experiment=tcsvt", "--tuned", "optim.optimizer.lr"]) == 0
    lines = (sweep / "choices.txt").read_text().splitlines()
    assert lines == [
        "experiment=tcsvt optim.optimizer.lr=0.0005",
        "experiment=static_encoder optim.optimizer.lr=0.001",
        "experiment=content_encoder optim.optimizer.lr=0.0005",
    ]
    markdown = (sweep / "report.md").read_text()
    assert "Holm-corrected across the 2 comparisons" in markdown and "p (Holm)" in markdown
    assert "## Runs that dropped values" in markdown
    flagged = markdown.split("## Runs that dropped values")[1]
    assert "2 NaN restored frame(s)" in flagged and "255 clips evaluated, other runs 256" in flagged
    assert "train/skipped_steps = 3" in flagged and flagged.count("- `") == 1
    assert "dropped values" in capsys.readouterr().out
    header = (sweep / "report.csv").read_text().splitlines()[0]
    assert "test/psnr_delta_p_holm" in header
