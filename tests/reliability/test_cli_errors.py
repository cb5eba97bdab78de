"""User errors of eval, infer, export and report: exit status 2 and one message naming the option or file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.distributed.runner import run_entry
from tests.reliability.tiny import assert_user_error, malicious_checkpoint


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("entry", ["eval", "infer", "export"])
def test_pickled_code_in_ckpt_path_is_refused(entry: str, tmp_path: Path, frames: Path) -> None:
    marker = tmp_path / "executed"
    evil = malicious_checkpoint(tmp_path / "evil.ckpt", marker)
    options = {
        "eval": [f"hydra.run.dir={tmp_path / 'run'}"],
        "infer": [f"input={frames}", f"output={tmp_path / 'out'}", f"hydra.run.dir={tmp_path / 'run'}"],
        "export": [f"out={tmp_path / 'net'}", f"hydra.run.dir={tmp_path / 'run'}"],
    }[entry]
    done = run_entry(f"flowdeblur.{entry}", [f"ckpt_path={evil}", *options], timeout=60)
    assert_user_error(done, f"flowdeblur.{entry}", "ckpt_path", str(evil), "Unsupported global")
    assert not marker.exists()


def test_export_of_a_truncated_checkpoint_names_it(tmp_path: Path) -> None:
    path = tmp_path / "cut.ckpt"
    torch.save({"state_dict": {"net.w": torch.ones(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])
    done = run_entry(
        "flowdeblur.export",
        [f"ckpt_path={path}", f"out={tmp_path / 'net'}", f"hydra.run.dir={tmp_path / 'run'}"],
        timeout=60,
    )
    assert_user_error(done, "flowdeblur.export", str(path), "corrupt or truncated")


def test_report_of_a_missing_sweep_dir_names_it(tmp_path: Path) -> None:
    done = run_entry("flowdeblur.report", [str(tmp_path / "nowhere")], timeout=60)
    assert done.returncode == 2, done.output[-3000:]
    assert "Traceback" not in done.output and str(tmp_path / "nowhere") in done.output
