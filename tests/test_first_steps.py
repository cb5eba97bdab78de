"""First steps: ``make help`` lists every target with a duration; the notebook renderer's arguments."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def makefile_targets() -> set[str]:
    """Targets a user can type: ``name:`` rules of the Makefile, without variables, files and special targets."""
    text = (REPO / "Makefile").read_text()
    return {m for m in re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE)}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target_with_a_duration() -> None:
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    targets = makefile_targets() - {"help"}
    assert targets >= {"install", "train", "test", "sweep", "report", "bench", "lint", "ablation", "notebooks"}
    assert targets <= set(listed), f"not in make help: {targets - set(listed)}"
    duration = re.compile(r"(~\d|> \d|seconds)")
    assert all(duration.search(listed[t]) for t in targets), [listed[t] for t in targets]


def test_render_script_refuses_an_unknown_notebook_and_skips_02_without_a_sweep(tmp_path: Path) -> None:
    script = REPO / "notebooks" / "render.py"
    done = subprocess.run([sys.executable, str(script), "nope.ipynb", "--out", str(tmp_path)], capture_output=True,
                          text=True, cwd=REPO)  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip().endswith("nope.ipynb'")
    if not (REPO / "multirun" / "latest").exists():
        done = subprocess.run([sys.executable, str(script), "02_ablation_report.ipynb", "--out", str(tmp_path)],
                              capture_output=True, text=True, cwd=REPO)  # fmt: skip
        assert done.returncode == 0 and "skipped 02_ablation_report.ipynb: no sweep yet" in done.stdout
        assert not list(tmp_path.iterdir())
