"""Run dirs: ``<paths.root>/<task>/<date>/<time>[_<name>]``, a ``latest`` link per kind, and no run dir for
infer/export (their result is the output file)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.types import RunMode
from omegaconf import OmegaConf

from flowdeblur.config import CONF_DIR
from flowdeblur.runs.run_dir import LatestLink, name_suffix, point_latest
from tests.distributed.runner import REPO, run_entry

STAMP = r"\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}"


def run_dir_of(config_name: str, *overrides: str) -> str:
    """The ``hydra.run.dir`` that ``python -m flowdeblur.<config_name> <overrides>`` would use."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    return str(OmegaConf.select(cfg, "hydra.run.dir"))


@pytest.mark.parametrize(
    ("config_name", "overrides", "expected"),
    [
        ("train", [], rf"^ROOT/train/{STAMP}$"),
        ("train", ["experiment=static_encoder"], rf"^ROOT/train/{STAMP}_static_encoder$"),
        ("train", ["experiment=fac", "paths.name=lr5e-4"], rf"^ROOT/train/{STAMP}_lr5e-4$"),
        ("eval", ["ckpt_path=x"], rf"^ROOT/eval/{STAMP}$"),
    ],
)
def test_run_dir_names(tmp_path: Path, config_name: str, overrides: list[str], expected: str) -> None:
    root = str(tmp_path / "runs")
    run_dir = run_dir_of(config_name, f"paths.root={root}", *overrides)
    assert re.match(expected.replace("ROOT", re.escape(root)), run_dir)


def test_eval_run_gets_its_dir_and_the_latest_link(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for name in ("first", "second"):
        done = run_entry("flowdeblur.eval", [f"paths.root={root}", f"paths.name={name}", "ckpt_path=missing.ckpt"], 120)
        assert done.returncode == 2 and "ckpt_path" in done.output
    (first, second) = sorted(root.glob("eval/*/*"), key=lambda p: p.name[-5:] == "first")[::-1][:2]
    assert first.name.endswith("_first") and second.name.endswith("_second")
    assert (second / ".hydra" / "config.yaml").is_file()
    latest = root / "eval" / "latest"
    assert latest.is_symlink() and not os.readlink(latest).startswith("/")
    assert latest.resolve() == second.resolve()


@pytest.mark.parametrize("module", ["flowdeblur.infer", "flowdeblur.export"])
def test_infer_and_export_leave_no_run_dir(tmp_path: Path, module: str) -> None:
    before = set(REPO.iterdir())
    args = (
        [f"input={tmp_path}", f"output={tmp_path / 'out.mp4'}"]
        if module.endswith("infer")
        else [f"out={tmp_path / 'net'}"]
    )
    done = run_entry(module, [f"paths.root={tmp_path / 'runs'}", "ckpt_path=missing.ckpt", *args], 120)
    assert done.returncode == 2, done.output
    assert not (tmp_path / "runs").exists()
    assert set(REPO.iterdir()) == before  # no log file or .hydra dropped in the working dir either


def test_latest_is_relative_replaced_and_only_below_its_root(tmp_path: Path) -> None:
    root = tmp_path / "outputs" / "train"
    old, new = root / "2026-01-01" / "10-00-00", root / "2026-01-02" / "09-00-00_fac"
    for run in (old, new):
        run.mkdir(parents=True)
    assert point_latest(root, old) == root / "latest"
    assert point_latest(root, new) == root / "latest"
    assert os.readlink(root / "latest") == "2026-01-02/09-00-00_fac"
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no temporary link left
    assert point_latest(root, tmp_path / "elsewhere") is None
    assert (root / "latest").resolve() == new


def test_callback_links_the_sweep_dir_in_a_multirun(tmp_path: Path) -> None:
    sweep = tmp_path / "multirun" / "2026-01-01" / "10-00-00"
    (sweep / "0").mkdir(parents=True)
    config = OmegaConf.create(
        {"hydra": {"mode": RunMode.MULTIRUN, "sweep": {"dir": str(sweep)}, "runtime": {"output_dir": str(sweep / "0")}}}
    )
    LatestLink(str(tmp_path / "outputs" / "train"), str(tmp_path / "multirun")).on_job_start(config)
    assert (tmp_path / "multirun" / "latest").resolve() == sweep
    assert not (tmp_path / "outputs").exists()


def test_name_suffix() -> None:
    assert name_suffix(None, "static_encoder") == "_static_encoder"
    assert name_suffix("my run", "fac") == "_my-run"
    assert name_suffix(None, None) == name_suffix("", "null") == ""
