"""Environment faults: an unreachable W&B server, a failing data sample, an unusable run dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from torch.utils.data import DataLoader, Dataset

from flowdeblur.data.indexed import IndexedErrors
from flowdeblur.loggers.wandb_env import default_to_offline
from flowdeblur.runs.run_dir import RunDirError, check_run_dir
from tests.distributed.runner import read_metrics, run_entry
from tests.reliability.tiny import RELIABLE_RUN

UNREACHABLE = {
    "WANDB_MODE": "online",
    "WANDB_API_KEY": "x" * 40,
    "WANDB_BASE_URL": "http://127.0.0.1:9",
    "WANDB_INIT_TIMEOUT": "10",
}


def test_unreachable_server_falls_back_to_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in UNREACHABLE.items():
        monkeypatch.setenv(key, value)
    with pytest.warns(UserWarning, match=r"W&B server http://127\.0\.0\.1:9 is unreachable: logging offline"):
        assert default_to_offline() == "offline"
    assert os.environ["WANDB_MODE"] == "offline"


def test_training_with_unreachable_wandb_finishes_offline(tmp_path: Path) -> None:
    done = run_entry(
        "flowdeblur.train",
        [*RELIABLE_RUN, "logger=wandb", "trainer.max_steps=1", f"hydra.run.dir={tmp_path}"],
        timeout=90,
        env=UNREACHABLE,
    )
    assert done.returncode == 0, done.output[-3000:]
    assert "is unreachable: logging offline" in done.output
    assert read_metrics(tmp_path)["status"] == "completed"
    run_id = (tmp_path / "wandb_run_id").read_text().strip()
    assert [p.name for p in (tmp_path / "wandb").glob(f"offline-run-*-{run_id}")]


class Broken(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> Any:
        if index == 2:
            raise OSError("unreadable frame")
        return index


@pytest.mark.parametrize("workers", [0, 1])
def test_failing_sample_names_split_and_index(workers: int) -> None:
    loader = DataLoader(IndexedErrors(Broken(), "train"), batch_size=1, num_workers=workers)
    with pytest.raises(Exception, match=r"data\.train: sample 2 of Broken failed: OSError: unreadable frame"):
        list(loader)


def test_wrapper_passes_attributes_through() -> None:
    wrapped = IndexedErrors(Broken(), "val")
    assert len(wrapped) == 4 and wrapped[1] == 1 and wrapped.__len__() == 4
    with pytest.raises(AttributeError):
        wrapped.set_epoch  # noqa: B018


def test_run_dir_checks(tmp_path: Path) -> None:
    assert check_run_dir(tmp_path / "new" / "run", 0).is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(RunDirError, match=r"paths\.output_dir: '.*file/run' is not a writable directory"):
        check_run_dir(tmp_path / "file" / "run", 0)
    with pytest.raises(RunDirError, match=r"MB free, expected at least min_free_mb=1e\+12"):
        check_run_dir(tmp_path, 1e12)
