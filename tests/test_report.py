"""The report on hand-made runs: grouping into variants over any mix of paths (single runs, sweeps, folders,
globs), input/restored/gain, mean ± std and paired intervals, written files, terminal width, bad input."""

from __future__ import annotations

import csv
import math
import re
import statistics
from pathlib import Path

import pytest
from rich.console import Console
from scipy import stats

from flowdeblur.report import main, write_report
from flowdeblur.reporting.aggregate import build_report
from flowdeblur.reporting.jobs import read_job
from flowdeblur.reporting.labels import label
from flowdeblur.reporting.render import WIDTH, print_report, to_latex
from tests.sweeping import write_job

PSNR = {
    ("tcsvt", 0): 28.0, ("tcsvt", 1): 28.6, ("tcsvt", 2): 28.2,
    ("static_encoder", 0): 27.5, ("static_encoder", 1): 27.7, ("static_encoder", 2): 27.9,
}  # fmt: skip
INPUT = 25.6


def metrics(psnr: float, seed: int, stage: str = "val") -> dict[str, float | str]:
    return {
        "status": "completed", f"{stage}/psnr": psnr, f"{stage}/psnr_input": INPUT,
        f"{stage}/ssim": 0.8 + psnr / 1000, f"{stage}/ssim_input": 0.75,
        f"{stage}/psnr_static": 35.0 + seed, f"{stage}/psnr_static_input": 120.0,
        f"{stage}/static_changed": 0.02 * (seed + 1), f"{stage}/static_changed_input": 0.0,
        f"{stage}/psnr_moving": psnr - 3.0, f"{stage}/psnr_moving_input": 22.0,
        f"{stage}/epe_moving": 1.5, "params/total": 1_540_000, "params/effective": 1_200_000,
        "macs": 2_000_000_000, "time/train_s": 60.0 * (seed + 1), "time/samples_per_s": 8.0 + seed,
        f"{stage}/psnr_gain_per_min": (psnr - INPUT) / (seed + 1),
    }  # fmt: skip


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """tcsvt/static_encoder x seeds 0-2, plus a failed and a not-yet-started content_encoder job."""
    root = tmp_path / "multirun" / "2026-01-31" / "12-00-00"
    num = 0
    for (experiment, seed), psnr in PSNR.items():
        write_job(root, num, ["+sweep=ablation", f"experiment={experiment}", f"seed={seed}"], metrics(psnr, seed))
        num += 1
    write_job(root, num, ["+sweep=ablation", "experiment=content_encoder", "seed=0"],
              {"status": "failed", "error": "ValueError: boom"})  # fmt: skip
    write_job(root, num + 1, ["+sweep=ablation", "experiment=content_encoder", "seed=1"], None)
    return root


def single_run(root: Path, name: str, overrides: list[str], seed: int, psnr: float) -> Path:
    """A single run as ``python -m flowdeblur.train`` leaves it: .hydra (mode RUN, config with the seed)."""
    run = write_job(root, 0, overrides, metrics(psnr, seed), mode="RUN")
    (run / ".hydra" / "config.yaml").write_text(f"seed: {seed}\n")
    return run.rename(root / name)


def test_variants_aggregate_over_seeds(sweep: Path) -> None:
    report = build_report(sweep)
    assert report.stage == "val" and report.options == ["experiment"]
    assert [v.label for v in report.variants] == ["tcsvt", "static encoder", "content encoder"]
    tcsvt = report.variants[0]
    values = [PSNR["tcsvt", s] for s in range(3)]
    assert tcsvt.stat("val/psnr").mean == pytest.approx(statistics.fmean(values))
    assert tcsvt.stat("val/psnr").std == pytest.approx(statistics.stdev(values))
    assert tcsvt.stat("val/psnr").ci == pytest.approx(stats.t.ppf(0.975, 2) * stats.sem(values))
    assert tcsvt.stat("val/psnr_gain").mean == pytest.approx(statistics.fmean(values) - INPUT)
    content = report.variants[2]
    assert (content.count("failed"), content.count("pending"), content.stat("val/psnr").n) == (1, 1, 0)
    assert {"val/static_changed", "val/static_changed_input", "val/epe_moving"} <= set(report.metrics)
    assert "val/lpips" not in report.metrics and "val/epe_static" not in report.metrics  # not logged: left out


def test_paired_comparison_matches_a_t_interval(sweep: Path) -> None:
    report = build_report(sweep, baseline="experiment=tcsvt")
    (psnr,) = [c for c in report.comparisons if c.metric == "val/psnr"]
    diffs = [PSNR["static_encoder", s] - PSNR["tcsvt", s] for s in range(3)]
    low, high = stats.t.interval(0.95, 2, loc=statistics.fmean(diffs), scale=stats.sem(diffs))
    assert psnr.seeds == ("0", "1", "2") and label(psnr.variant) == "static encoder"
    assert psnr.mean == pytest.approx(statistics.fmean(diffs))
    assert psnr.interval == pytest.approx((low, high))
    assert {c.metric for c in report.comparisons} >= {"val/static_changed", "val/psnr_moving", "val/epe_moving"}


def test_baseline_on_a_subset_of_options_pairs_within_the_others(tmp_path: Path) -> None:
    num = 0
    for flow in ("pyramid", "zero"):
        for source, gain in (("flow", 1.0), ("static", 0.0)):
            for seed in (0, 1):
                psnr = 27.0 + gain + (flow == "pyramid") * 0.5 + seed * 0.1
                overrides = [f"model/flow={flow}", f"model/weight_source={source}", f"seed={seed}"]
                write_job(tmp_path, num, overrides, metrics(psnr, seed))
                num += 1
    report = build_report(tmp_path, baseline="model/weight_source=static")
    psnr = {c.variant: c for c in report.comparisons if c.metric == "val/psnr"}
    assert set(psnr) == {(("model/flow", f), ("model/weight_source", "flow")) for f in ("pyramid", "zero")}
    for comparison in psnr.values():
        assert comparison.baseline[0] == comparison.variant[0]
        assert comparison.mean == pytest.approx(1.0)
    assert report.variants[0].label == "flow pyramid, weight source flow"


def test_single_runs_multiruns_folders_and_globs_in_one_table(tmp_path: Path, sweep: Path) -> None:
    train = tmp_path / "outputs" / "train" / "2026-02-01"
    single_run(train, "10-00-00", [], 0, 27.0)
    single_run(train, "11-00-00_fac", ["experiment=fac", "hydra.run.dir=x"], 0, 28.8)
    single_run(train, "12-00-00_fac", ["experiment=fac"], 1, 29.0)
    (train.parent / "latest").symlink_to("2026-02-01/12-00-00_fac")  # followed only when named
    for paths in (
        [train.parent],
        [str(train / "*"), sweep],
        [train / "10-00-00", train / "11-00-00_fac", train / "12-00-00_fac", sweep],
    ):
        report = build_report([*paths, sweep] if sweep not in paths else paths)
        labels = {v.label: v for v in report.variants}
        assert set(labels) == {"default", "fac", "tcsvt", "static encoder", "content encoder"}
        assert labels["fac"].stat("val/psnr").values == (28.8, 29.0)  # seeds from the saved configs
        assert len(report.jobs) == 11  # nothing counted twice (the latest link is not followed)
    assert len(build_report(train.parent / "latest").jobs) == 1


def test_written_files_hold_the_computed_values(sweep: Path) -> None:
    report = build_report(sweep, baseline="experiment=tcsvt")
    paths = write_report(report, sweep)
    rows = {row["experiment"]: row for row in csv.DictReader(paths["csv"].open())}
    static = [PSNR["static_encoder", s] for s in range(3)]
    tcsvt = [PSNR["tcsvt", s] for s in range(3)]
    assert float(rows["static_encoder"]["val/psnr_mean"]) == pytest.approx(statistics.fmean(static))
    assert float(rows["static_encoder"]["val/psnr_gain_mean"]) == pytest.approx(statistics.fmean(static) - INPUT)
    assert float(rows["static_encoder"]["val/psnr_delta"]) == pytest.approx(
        statistics.fmean(static) - statistics.fmean(tcsvt)
    )
    assert rows["static_encoder"]["variant"] == "static encoder"
    assert (rows["content_encoder"]["failed"], rows["content_encoder"]["val/psnr_mean"]) == ("1", "")
    markdown = paths["markdown"].read_text()
    assert "| blurry input | 25.60 | 0.750 | 0.00 | 22.00 | – | – | – |" in markdown
    assert "| static encoder | 3 | 25.60 | 27.70 ± 0.20 | +2.10 ± 0.20 | 0.750 |" in markdown
    assert "ValueError: boom" in markdown
    latex = paths["latex"].read_text()
    assert r"\toprule" in latex and r"\bottomrule" in latex
    assert r"static encoder & 27.70 $\pm$ 0.20 & 0.828 $\pm$ 0.000" in latex
    assert r"static changed (\%) $\downarrow$" in latex
    for stem in ("report", "report_delta"):
        for ext in ("png", "pdf", "svg"):
            assert paths[f"{stem}.{ext}"].stat().st_size > 5_000
    assert paths["report.svg"].read_text().count("static encoder") == 4  # text kept as text, once per panel


def test_printed_tables_fit_a_terminal(sweep: Path) -> None:
    long = build_report(sweep, baseline="experiment=tcsvt")
    console = Console(record=True, width=200, force_terminal=False)
    print_report(long, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert re.search(r"static encoder\s+3\s+25\.60\s+27\.70 ± 0\.20\s+\+2\.10 ± 0\.20", text)
    assert "changed in" in text and "static in" not in text  # the static input is exact: no column


def test_speed_table_reads_time_samples_per_second_and_gain_per_minute(sweep: Path) -> None:
    report = build_report(sweep)
    tcsvt = report.variants[0]
    gains = [(PSNR["tcsvt", s] - INPUT) / (s + 1) for s in range(3)]
    assert tcsvt.stat("val/psnr_gain_per_min").mean == pytest.approx(statistics.fmean(gains))
    assert tcsvt.stat("time/samples_per_s").mean == pytest.approx(9.0)
    console = Console(record=True, width=200, force_terminal=False)
    print_report(report, console)
    text = console.export_text()
    assert "val: training speed" in text
    mean, std = statistics.fmean(gains), statistics.stdev(gains)
    assert re.search(rf"tcsvt\s+2\.0 min\s+9\.0\s+{mean:.3f} ± {std:.3f}", text)


def test_cli_prints_and_writes(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--baseline", "experiment=static_encoder"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # long temporary paths wrap lines
    assert "8 runs: 6 completed, 1 failed, 1 pending" in out and "baseline: static encoder" in out
    assert {p.name for p in sweep.glob("report*")} == {
        "report.md", "report.csv", "report.tex", *(f"{s}.{e}" for s in ("report", "report_delta")
                                                   for e in ("png", "pdf", "svg"))}  # fmt: skip


def test_several_paths_write_into_a_report_dir(tmp_path: Path, sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    other = single_run(tmp_path / "runs", "a", ["experiment=fac"], 0, 28.0)
    assert main([str(sweep), str(other)]) == 0
    latest = tmp_path / "outputs" / "report" / "latest"
    assert (latest / "report.md").is_file() and not (sweep / "report.md").exists()


@pytest.mark.parametrize("case", ["missing", "empty", "foreign", "file"])
def test_bad_input_is_one_message(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "dir"
    if case in ("empty", "foreign"):
        target.mkdir()
    if case == "foreign":
        (target / "notes.txt").write_text("hello")
        (target / "sub").mkdir()
    if case == "file":
        target.write_text("x")
    assert main([str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(target) in err and "expected run dirs" in err


def test_unknown_baseline_is_refused(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--baseline", "model.flow=pwc"]) == 2
    assert "swept options ['experiment']" in capsys.readouterr().err
    assert main([str(sweep), "--baseline", "experiment=tcsv"]) == 2
    assert "takes the values ['tcsvt', 'static_encoder', 'content_encoder']" in capsys.readouterr().err


def test_single_seed_has_no_interval(tmp_path: Path) -> None:
    write_job(tmp_path, 0, ["experiment=tcsvt"], metrics(28.0, 0))
    write_job(tmp_path, 1, ["experiment=static_encoder"], metrics(27.0, 0))
    (comparison, *_) = build_report(tmp_path, baseline="experiment=tcsvt").comparisons
    assert comparison.mean == pytest.approx(-1.0) and all(math.isnan(x) for x in comparison.interval)
    assert build_report(tmp_path).comparisons == []  # nothing to pair and no baseline asked for


def test_missing_metrics_are_left_out(tmp_path: Path) -> None:
    write_job(tmp_path, 0, ["seed=0"], {"status": "completed", "test/psnr": 27.0})
    report = build_report(tmp_path)
    assert report.stage == "test" and report.metrics == ["test/psnr"]
    assert "all runs & 27.00" in to_latex(report)


def test_evaluations_of_checkpoints_report_as_their_training_runs(tmp_path: Path, sweep: Path) -> None:
    """``eval ckpt_path=<job>/checkpoints/last.ckpt data=other`` runs group and pair by the training runs'
    variants and seeds, with the evaluation's data as an option of their own."""
    evals = tmp_path / "ood"
    num = 0
    for job in sorted(sweep.iterdir(), key=lambda p: int(p.name)):
        if not (job / "metrics.json").is_file() or "failed" in (job / "metrics.json").read_text():
            continue
        (job / "checkpoints").mkdir()
        (job / "checkpoints" / "last.ckpt").write_bytes(b"")
        trained = (job / ".hydra" / "overrides.yaml").read_text()
        experiment, seed = re.search(r"experiment=(\w+)\n- seed=(\d)", trained).groups()  # type: ignore[union-attr]
        psnr = PSNR[(experiment, int(seed))] - 1.0 - 0.5 * (experiment == "tcsvt")
        overrides = [f"ckpt_path={job / 'checkpoints' / 'last.ckpt'}", "data=synthetic_ood"]
        write_job(evals, num, overrides, metrics(psnr, int(seed), stage="test"), mode="RUN")
        num += 1
    report = build_report(evals, baseline="experiment=tcsvt")
    assert [v.label for v in report.variants] == ["tcsvt", "static encoder"]
    first = read_job(evals / "0")
    assert first.overrides == {"sweep": "ablation", "experiment": "tcsvt", "seed": "0", "data": "synthetic_ood"}
    (comparison,) = [c for c in report.comparisons if c.metric == "test/psnr"]
    differences = [PSNR[("static_encoder", s)] - PSNR[("tcsvt", s)] + 0.5 for s in (0, 1, 2)]
    assert comparison.mean == pytest.approx(statistics.mean(differences))
    assert comparison.seeds == ("0", "1", "2")
