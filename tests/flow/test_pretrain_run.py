"""`python -m flowdeblur.pretrain_flow` end to end on the tiny data with the default loader setting
(``data.num_workers=auto``): it trains, writes weights that load by path, and records its recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowdeblur.build import build_module
from flowdeblur.config import compose_config
from flowdeblur.flow.pretrained import flow_state, read_flow_weights, tensor_checksum
from flowdeblur.lit.datamodule import loader_workers
from flowdeblur.pretrain_flow import config_hash, pretrain


def test_a_short_pretraining_writes_weights_that_load_by_path(tmp_path: Path) -> None:
    weights = tmp_path / "flow.safetensors"
    overrides = [
        "data=synthetic_tiny",
        "data.num_workers=auto",
        "data.val.length=2",
        "pretrain.steps=2",
        "pretrain.val_every=2",
        "pretrain.warmup_steps=1",
        f"output={weights}",
    ]
    cfg = compose_config(overrides, config_name="pretrain_flow", output_dir=tmp_path / "run")
    results = pretrain(cfg)
    assert results["step"] == 2 and results["val/epe"] > 0 and Path(results["weights"]) == weights
    state, metadata = read_flow_weights(str(weights))
    assert metadata["config_hash"] == config_hash(cfg) and metadata["checksum"] == tensor_checksum(state)
    train = compose_config([f"model.flow.weights={weights}", "data=synthetic_tiny"], output_dir=tmp_path / "t")
    loaded = flow_state(build_module(train).net.flow)  # shapes and names fit the default backbone
    assert all(torch.equal(loaded[name], tensor) for name, tensor in state.items())


def test_loader_workers() -> None:
    assert loader_workers(3) == 3 and 1 <= loader_workers("auto") <= 8
    assert loader_workers("auto", processes=64) == 1
    with pytest.raises(ValueError, match="data.num_workers"):
        loader_workers("many")
