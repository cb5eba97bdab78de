"""User errors of ``flowdeblur.train``: exit status 2, one message naming the option or file, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.distributed.runner import Finished, run_entry
from tests.reliability.tiny import RELIABLE_RUN, assert_user_error, malicious_checkpoint

PROG = "flowdeblur.train"


def train(tmp_path: Path, *overrides: str) -> Finished:
    return run_entry(
        PROG, [*RELIABLE_RUN, "trainer.max_steps=1", f"hydra.run.dir={tmp_path / 'run'}", *overrides], timeout=60
    )


def test_resume_without_a_checkpoint_names_the_expected_file(tmp_path: Path) -> None:
    done = train(tmp_path, "ckpt_path=last")
    assert_user_error(done, PROG, "ckpt_path=last", str(tmp_path / "run" / "checkpoints" / "last.ckpt"))


def test_resume_from_pickled_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    evil = malicious_checkpoint(tmp_path / "evil.ckpt", marker)
    assert_user_error(train(tmp_path, f"ckpt_path={evil}"), PROG, str(evil), "Unsupported global")
    assert not marker.exists()


@pytest.mark.parametrize("fault", ["unwritable", "full"])
def test_unusable_run_dir_fails_at_start(tmp_path: Path, fault: str) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a dir")
    override = f"paths.output_dir={blocker / 'run'}" if fault == "unwritable" else "min_free_mb=1e12"
    done = train(tmp_path, override)
    expected = "is not a writable directory" if fault == "unwritable" else "expected at least min_free_mb=1e+12"
    assert_user_error(done, PROG, "paths.output_dir", expected)
    assert not (tmp_path / "run" / "checkpoints").exists()
