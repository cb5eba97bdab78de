"""Exported weights: safetensors + config round trip of a trained checkpoint; unsafe/foreign files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from safetensors import safe_open
from safetensors.torch import save_file

from flowdeblur.checkpoints.load import CheckpointError
from flowdeblur.checkpoints.weights import load_net, load_weights
from flowdeblur.export import export
from flowdeblur.train import train
from tests.footage import SMALL_MODEL, frames_array, run_infer, save_checkpoint, write_frames
from tests.helpers import compose_config


class Payload:
    """Unpickling this would create ``marker``: proof that arbitrary code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_export_of_a_trained_checkpoint_round_trips(tmp_path: Path) -> None:
    overrides = [
        "data=synthetic_tiny",
        "logger=csv",
        "~callbacks.progress_bar",
        "lpips_metric=false",
        *SMALL_MODEL,
        "trainer.max_steps=2",
        "run_test=false",
        "trainer.precision=32-true",
    ]
    train(compose_config(overrides, output_dir=tmp_path / "run"))
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    path = export(ckpt, tmp_path / "model")
    assert path == tmp_path / "model.safetensors" and path.is_file()
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    ckpt_config, ckpt_state = load_weights(ckpt)
    assert metadata["format"] == "flowdeblur"
    assert json.loads(metadata["config"]) == OmegaConf.to_container(ckpt_config)
    (net_a, _), (net_b, config_b) = load_net(ckpt), load_net(path)
    assert config_b == ckpt_config
    state_a, state_b = net_a.state_dict(), net_b.state_dict()
    assert state_a.keys() == state_b.keys() == ckpt_state.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    trained = [float(v.abs().sum()) for k, v in state_b.items() if k.startswith("deblurrer.out.")]
    assert max(trained) > 0  # two optimiser steps moved the zero-initialised output conv
    frames = torch.rand(1, 3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net_a(frames, 1).restored, net_b(frames, 1).restored)
    with pytest.raises(FileExistsError, match="model.safetensors' exists"):
        export(ckpt, path)
    assert export(ckpt, path, overwrite=True) == path


def test_infer_accepts_an_export(tmp_path: Path) -> None:
    ckpt = save_checkpoint(tmp_path / "last.ckpt")
    path = export(ckpt, tmp_path / "model.safetensors")
    write_frames(tmp_path / "clip", frames_array(2, 16, 16))
    assert run_infer(tmp_path, path, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'out'}")["frames"] == 2


def test_pickled_code_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {}, "hyper_parameters": {"config": Payload(marker)}}, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match="refusing to load it"):
        load_weights(tmp_path / "evil.ckpt")
    assert not marker.exists()


def test_foreign_and_broken_files_are_refused(tmp_path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="carries no flowdeblur config"):
        load_weights(tmp_path / "plain.safetensors")
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_weights(tmp_path / "broken.safetensors")
    with pytest.raises(CheckpointError, match="no exported weights file"):
        load_weights(tmp_path / "missing.safetensors")
    torch.save({"state_dict": {"net.w": torch.zeros(1)}}, tmp_path / "noconfig.ckpt")
    with pytest.raises(CheckpointError, match="carries no experiment config"):
        load_weights(tmp_path / "noconfig.ckpt")
    ckpt = save_checkpoint(tmp_path / "small.ckpt")
    config, _ = load_weights(ckpt)
    save_file(
        {"w": torch.zeros(2)},
        str(tmp_path / "mismatch.safetensors"),
        metadata={"format": "flowdeblur", "config": json.dumps(OmegaConf.to_container(config))},
    )
    with pytest.raises(CheckpointError, match="weights do not fit its config.s network"):
        load_net(tmp_path / "mismatch.safetensors")
