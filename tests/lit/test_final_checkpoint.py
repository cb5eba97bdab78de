"""One checkpoint, one set of numbers: the run tests the checkpoint it reports, eval reproduces the numbers, and
the end of training says where the W&B run is and how to upload it."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flowdeblur.config import compose_config
from flowdeblur.eval import evaluate
from flowdeblur.lit.final_checkpoint import CHOICES
from tests.helpers import tiny_train

# 4 steps per epoch (8 clips, batch 2): validation after steps 4 and 8, none after the final step 10
RUN = ["trainer.max_steps=10", "trainer.precision=32-true", "optim.scheduler.warmup_steps=2", "~callbacks.panels"]


@pytest.fixture(scope="module")
def best_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("best")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = tiny_train(out, *RUN, "logger=wandb")
    return out, results, printed.getvalue()


def test_the_better_of_the_best_checkpoint_and_the_final_weights_is_tested(
    best_run: tuple[Path, dict, str], tmp_path: Path
) -> None:
    """The final step (10) is not validated during fit: its weights still compete with the best checkpoint."""
    out, results, printed = best_run
    saved = json.loads((out / "metrics.json").read_text())
    path = Path(saved["checkpoint/path"])
    assert path.parent == out / "checkpoints"
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert saved["checkpoint/step"] == ckpt["global_step"] in (4, 8, 10)
    assert f"checkpoint: {path}" in printed
    final = evaluate(
        compose_config(
            [f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}", "split=val", "lpips_metric=false",
             "trainer.precision=32-true"],
            config_name="eval",
            output_dir=tmp_path,
        )
    )  # fmt: skip
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 10
    assert saved["val/psnr"] == pytest.approx(max(best_score(out), final["val/psnr"]), abs=1e-6)
    assert (saved["checkpoint/step"] == 10) == (final["val/psnr"] > best_score(out))
    assert saved["val_split"] == "val"


def best_score(out: Path) -> float:
    """The best val/psnr seen during fit, from the monitored checkpoint callback's state in last.ckpt."""
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    states = [v for k, v in ckpt["callbacks"].items() if "'val/psnr'" in k]
    return float(states[0]["best_model_score"])


def test_eval_on_the_recorded_checkpoint_reproduces_the_test_numbers(
    best_run: tuple[Path, dict, str], tmp_path: Path
) -> None:
    out, results, _ = best_run
    cfg = compose_config(
        [f"ckpt_path={results['checkpoint/path']}", "lpips_metric=false", "trainer.precision=32-true"],
        config_name="eval",
        output_dir=tmp_path,
    )
    evaluated = evaluate(cfg)
    for key in ("test/psnr", "test/ssim", "test/psnr_input", "test/psnr_moving"):
        assert evaluated[key] == results[key]


def test_the_printed_sync_command_finds_the_offline_run(best_run: tuple[Path, dict, str]) -> None:
    out, _, printed = best_run
    match = re.search(r"W&B run: (\S+) \(offline; upload it with: (wandb sync .+)\)", printed)
    assert match, printed
    assert Path(match.group(1)).parent == out / "wandb" and list(Path(match.group(1)).glob("run-*.wandb"))
    command = shlex.split(match.group(2))
    wandb = Path(sys.executable).with_name("wandb")
    done = subprocess.run(
        [str(wandb), *command[1:2], "--dry-run", *command[2:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={"WANDB_MODE": "offline", "PATH": str(wandb.parent)},
    )
    assert "Would sync 1 run" in done.stdout + done.stderr, done.stdout + done.stderr


def test_last_tests_the_final_weights(tmp_path: Path) -> None:
    results = tiny_train(tmp_path, *RUN, "test_ckpt=last", "logger=csv")
    assert results["checkpoint/path"] == str(tmp_path / "checkpoints" / "last.ckpt")
    assert results["checkpoint/step"] == 10
    assert CHOICES == ("best", "last")
    with pytest.raises(ValueError, match="test_ckpt: expected one of"):
        tiny_train(tmp_path / "bad", *RUN, "test_ckpt=final", "logger=csv")
