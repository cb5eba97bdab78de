"""The network's frame window comes from ``model``; files written when it lived in ``data`` still load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from flowdeblur.checkpoints.load import CheckpointError
from flowdeblur.checkpoints.weights import load_net
from tests.footage import save_checkpoint


def rewrite_config(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Apply ``edit`` to the experiment config stored in the checkpoint at ``path``."""
    ckpt = torch.load(path, weights_only=True)
    edit(ckpt["hyper_parameters"]["config"])
    torch.save(ckpt, path)
    return path


def test_loaded_network_carries_the_model_window(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "model.ckpt", "model.num_frames=4", "model.target=1")
    net, _ = load_net(path)
    assert (net.num_frames, net.target) == (4, 1)


def test_a_checkpoint_with_the_window_in_data_still_loads(tmp_path: Path) -> None:
    def window_in_data(config: dict) -> None:
        window = {key: config["model"].pop(key) for key in ("num_frames", "target")}
        config["data"].update(window)

    path = rewrite_config(save_checkpoint(tmp_path / "old.ckpt", "model.num_frames=4"), window_in_data)
    net, config = load_net(path)
    assert (net.num_frames, net.target) == (4, 2)
    assert config.model.num_frames == 4


def test_a_checkpoint_without_a_window_is_refused(tmp_path: Path) -> None:
    def no_window(config: dict) -> None:
        for key in ("num_frames", "target"):
            config["model"].pop(key)

    path = rewrite_config(save_checkpoint(tmp_path / "bare.ckpt"), no_window)
    with pytest.raises(CheckpointError, match="model.num_frames"):
        load_net(path)
