"""Checkpoints are written atomically, corrupt ones give a clear error, pickled code is never run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowdeblur.checkpoints.lightning_io import AtomicCheckpointIO
from flowdeblur.checkpoints.load import CheckpointError, load_checkpoint
from flowdeblur.config import compose_config
from tests.helpers import TINY
from tests.reliability.tiny import malicious_checkpoint


def test_save_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    io.save_checkpoint({"state_dict": {"w": torch.full((2,), 2.0)}}, path)
    assert torch.equal(io.load_checkpoint(path)["state_dict"]["w"], torch.full((2,), 2.0))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)

    def die_half_way(obj: object, f: Path) -> None:
        Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", die_half_way)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, path)
    assert torch.equal(load_checkpoint(path)["state_dict"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_trainer_configs_use_the_atomic_plugin() -> None:
    for trainer in ("cpu", "gpu", "ddp", "ddp_cpu"):
        plugins = compose_config([*TINY, f"trainer={trainer}"]).trainer.plugins
        assert [p._target_ for p in plugins] == ["flowdeblur.checkpoints.lightning_io.AtomicCheckpointIO"]


def test_truncated_checkpoint_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1000)}}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=rf"'{path}' is not a readable checkpoint"):
        AtomicCheckpointIO().load_checkpoint(path)


def test_pickled_code_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = malicious_checkpoint(tmp_path / "evil.ckpt", marker)
    with pytest.raises(CheckpointError, match=rf"'{path}' holds objects other than tensors.*Unsupported global"):
        AtomicCheckpointIO().load_checkpoint(path)
    assert not marker.exists()


def test_plain_weight_files_load_too(tmp_path: Path) -> None:
    """DDP launchers hand the trained weights back to the main process as a bare state_dict file."""
    io = AtomicCheckpointIO()
    io.save_checkpoint({"net.w": torch.ones(3)}, tmp_path / ".temp.ckpt")
    assert torch.equal(io.load_checkpoint(tmp_path / ".temp.ckpt")["net.w"], torch.ones(3))
