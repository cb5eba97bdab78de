"""The sweep report on hand-made sweep dirs: grouping, mean ± std over seeds, paired comparison, partial
sweeps, and bad input."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest
from scipy import stats

from flowdeblur.report import main, write_report
from flowdeblur.reporting.aggregate import build_report
from tests.sweeping import write_job

PSNR = {("flow", 0): 28.0, ("flow", 1): 28.6, ("flow", 2): 28.2,
        ("static", 0): 27.5, ("static", 1): 27.7, ("static", 2): 27.9}


def metrics(psnr: float, seed: int) -> dict[str, float | str]:
    return {"status": "completed", "val/psnr": psnr, "val/ssim": 0.8 + psnr / 1000, "val/psnr_static": 35.0,
            "val/psnr_moving": psnr - 3.0, "params/total": 1000, "macs": 2_000_000,
            "time/train_s": 10.0 + seed}


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """flow/static x seeds 0-2, plus a failed and a not-yet-started content job."""
    num = 0
    for (source, seed), psnr in PSNR.items():
        write_job(tmp_path, num, ["+sweep=ablation_encoder", f"model.weight_source={source}", f"seed={seed}"],
                  metrics(psnr, seed))
        num += 1
    write_job(tmp_path, num, ["+sweep=ablation_encoder", "model.weight_source=content", "seed=0"],
              {"status": "failed", "error": "ValueError: boom"})
    write_job(tmp_path, num + 1, ["+sweep=ablation_encoder", "model.weight_source=content", "seed=1"], None)
    return tmp_path


def test_variants_aggregate_over_seeds(sweep: Path) -> None:
    report = build_report(sweep)
    assert report.stage == "val" and report.options == ["model.weight_source"]
    sources = ("flow", "static", "content")
    assert [v.options for v in report.variants] == [(("model.weight_source", s),) for s in sources]
    flow = report.variants[0].stats["val/psnr"]
    values = [PSNR["flow", s] for s in range(3)]
    assert flow.n == 3
    assert flow.mean == pytest.approx(statistics.fmean(values))
    assert flow.std == pytest.approx(statistics.stdev(values))
    content = report.variants[2]
    assert (content.count("failed"), content.count("pending"), content.stats["val/psnr"].n) == (1, 1, 0)
    assert report.metrics == ["val/psnr", "val/ssim", "val/psnr_static", "val/psnr_moving"]


def test_paired_comparison_matches_a_t_interval(sweep: Path) -> None:
    report = build_report(sweep, baseline="model.weight_source=flow")
    (psnr,) = [c for c in report.comparisons if c.metric == "val/psnr"]
    diffs = [PSNR["static", s] - PSNR["flow", s] for s in range(3)]
    low, high = stats.t.interval(0.95, 2, loc=statistics.fmean(diffs), scale=stats.sem(diffs))
    assert psnr.seeds == ("0", "1", "2")
    assert psnr.mean == pytest.approx(statistics.fmean(diffs))
    assert psnr.interval == pytest.approx((low, high))


def test_baseline_on_a_subset_of_options_pairs_within_the_others(tmp_path: Path) -> None:
    num = 0
    for flow in ("pyramid", "zero"):
        for source, gain in (("flow", 1.0), ("static", 0.0)):
            for seed in (0, 1):
                psnr = 27.0 + gain + (flow == "pyramid") * 0.5 + seed * 0.1
                overrides = [f"model/flow={flow}", f"model.weight_source={source}", f"seed={seed}"]
                write_job(tmp_path, num, overrides, metrics(psnr, seed))
                num += 1
    report = build_report(tmp_path, baseline="model.weight_source=static")
    psnr = {c.variant: c for c in report.comparisons if c.metric == "val/psnr"}
    assert set(psnr) == {(("model/flow", f), ("model.weight_source", "flow")) for f in ("pyramid", "zero")}
    for comparison in psnr.values():
        assert comparison.baseline[0] == comparison.variant[0]
        assert comparison.mean == pytest.approx(1.0)


def test_written_files_hold_the_computed_values(sweep: Path) -> None:
    paths = write_report(build_report(sweep))
    rows = {row["model.weight_source"]: row for row in csv.DictReader(paths["csv"].open())}
    static = [PSNR["static", s] for s in range(3)]
    assert float(rows["static"]["val/psnr_mean"]) == pytest.approx(statistics.fmean(static))
    assert float(rows["static"]["val/psnr_std"]) == pytest.approx(statistics.stdev(static))
    assert float(rows["static"]["val/psnr_delta"]) == pytest.approx(
        statistics.fmean(static) - statistics.fmean(PSNR["flow", s] for s in range(3)))
    content = rows["content"]
    assert (content["failed"], content["pending"], content["val/psnr_mean"]) == ("1", "1", "")
    markdown = paths["markdown"].read_text()
    assert "| static | 3 | 0 | 0 | 27.70 ± 0.20 |" in markdown
    assert "ValueError: boom" in markdown
    assert paths["figure"].stat().st_size > 10_000


def test_cli_prints_and_writes(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--baseline", "model.weight_source=static"]) == 0
    out = capsys.readouterr().out
    assert "weight_source=flow" in out and "8 jobs: 6 completed, 1 failed, 1 pending" in out
    assert {p.name for p in sweep.glob("report.*")} == {"report.md", "report.csv", "report.png"}


@pytest.mark.parametrize("case", ["missing", "empty", "foreign", "single_run"])
def test_bad_input_is_one_message(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dir"
    if case != "missing":
        target.mkdir()
    if case == "foreign":
        (target / "notes.txt").write_text("hello")
        (target / "sub").mkdir()
    if case == "single_run":
        write_job(target, 0, ["seed=0"], metrics(28.0, 0), mode="RUN")
    assert main([str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "expected a Hydra multirun directory" in err


def test_unknown_baseline_is_refused(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--baseline", "model.flow=pwc"]) == 2
    assert "swept options ['model.weight_source']" in capsys.readouterr().err
    assert main([str(sweep), "--baseline", "model.weight_source=stati"]) == 2
    assert "takes the values ['flow', 'static', 'content'] in this sweep" in capsys.readouterr().err


def test_single_seed_has_no_interval(tmp_path: Path) -> None:
    write_job(tmp_path, 0, ["model.weight_source=flow"], metrics(28.0, 0))
    write_job(tmp_path, 1, ["model.weight_source=static"], metrics(27.0, 0))
    (comparison, *_) = build_report(tmp_path).comparisons
    assert comparison.mean == pytest.approx(-1.0) and all(math.isnan(x) for x in comparison.interval)
