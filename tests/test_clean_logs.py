"""The console of a training, a resume and an evaluation holds no library warnings and no library chatter the user
cannot act on (flowdeblur.runs.quiet); the job's log file holds the same lines with their time and source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.distributed.runner import Finished, run_entry

# the tiny data (4 batches an epoch) with every default of `make train` (W&B offline, bf16, progress bar, LPIPS);
# the resume goes on from the end of the second epoch (a resume from the middle of one is warned about: the
# loader cannot resume mid-epoch, which the user can act on)
TRAIN = ["data=synthetic_tiny", "trainer.max_steps=8"]
CHATTER = ("GPU available: False", "TPU available: False", "💡 Tip", "exists and is not empty", "`weights_only`")


def library_noise(output: str) -> list[str]:
    """Lines that are warnings (any ``<file>.py:<line>:`` location, any ``warn``) or known library chatter."""
    return [
        line
        for line in output.splitlines()
        if re.search(r"\.py:\d+: ", line) or "warn" in line.lower() or any(c in line for c in CHATTER)
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Finished]:
    run_dir = tmp_path_factory.mktemp("clean") / "run"
    return run_dir, run_entry("flowdeblur.train", [*TRAIN, f"hydra.run.dir={run_dir}"], timeout=300)


def test_training_prints_no_library_warnings(trained: tuple[Path, Finished]) -> None:
    run_dir, done = trained
    assert done.returncode == 0, done.output[-3000:]
    assert "flowdeblur results" in done.output
    assert library_noise(done.output) == []
    log = (run_dir / "train.log").read_text()
    assert "[lightning_fabric.utilities.seed][INFO] - Seed set to 0" in log
    assert "flowdeblur results" in log and "model:" in log


@pytest.mark.slow
def test_resume_and_eval_print_no_library_warnings(trained: tuple[Path, Finished], tmp_path: Path) -> None:
    run_dir, _ = trained
    last = run_dir / "checkpoints" / "last.ckpt"
    resumed = run_entry(
        "flowdeblur.train",
        ["data=synthetic_tiny", "trainer.max_steps=12", f"ckpt_path={last}", f"hydra.run.dir={run_dir}"],
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.output[-3000:]
    assert "Restored all states from the checkpoint" in resumed.output
    assert library_noise(resumed.output) == []
    evaluated = run_entry("flowdeblur.eval", [f"ckpt_path={last}", f"hydra.run.dir={tmp_path}"], timeout=300)
    assert evaluated.returncode == 0, evaluated.output[-3000:]
    assert library_noise(evaluated.output) == []
    assert "flowdeblur results" in (tmp_path / "eval.log").read_text()
