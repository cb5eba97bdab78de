"""Pretrained flow weights (``model.flow.weights``): round trips, one-line errors, freezing, and the shared start
of the ablation's presets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from flowdeblur.checkpoints.weights import load_net, save_export
from flowdeblur.config import compose_config
from flowdeblur.flow.pretrained import (
    FlowWeightsError,
    flow_state,
    read_flow_weights,
    save_flow_weights,
    tensor_checksum,
)
from flowdeblur.flow.pwc import PWCFlow
from flowdeblur.network import build_net
from tests.distributed.runner import REPO, run_entry

SMALL = ["model.flow.channels=[8,8,8]"]


def pwc(channels: tuple[int, ...] = (8, 8, 8), seed: int = 1) -> PWCFlow:
    torch.manual_seed(seed)
    return PWCFlow(num_frames=3, channels=channels)


@pytest.fixture
def weights_file(tmp_path: Path) -> Path:
    return save_flow_weights(tmp_path / "flow.safetensors", pwc(), {"config_hash": "0" * 16, "commit": "test"})


def build(*overrides: str) -> torch.nn.Module:
    return build_net(compose_config([*SMALL, *overrides]).model)


def test_weights_round_trip_into_the_built_network(weights_file: Path) -> None:
    source = flow_state(pwc())
    net = build(f"model.flow.weights={weights_file}")
    loaded = flow_state(net.flow)
    assert loaded.keys() == source.keys() and len(loaded) > 10
    assert all(torch.equal(loaded[k], source[k]) for k in source)
    # the fusion of motion features is not part of the file: it keeps the network's own initialisation
    assert not any(k.startswith("fuse.") for k in load_file(str(weights_file)))
    encoder = next(k for k in source if k.startswith("encoder.") and k.endswith("weight"))
    assert not torch.equal(flow_state(build().flow)[encoder], loaded[encoder])  # from scratch: its own init


def test_the_ablation_presets_start_from_the_same_flow_weights(weights_file: Path) -> None:
    nets = {
        preset: build(f"experiment={preset}", f"model.flow.weights={weights_file}")
        for preset in ("tcsvt", "content_encoder", "no_warp_loss")
    }
    reference = load_file(str(weights_file))
    for net in nets.values():
        state = flow_state(net.flow)
        assert all(torch.equal(state[k], reference[k]) for k in reference)


def test_metadata_and_checksum(weights_file: Path) -> None:
    state, metadata = read_flow_weights(str(weights_file))
    assert metadata["format"] == "flowdeblur-flow" and metadata["config_hash"] == "0" * 16
    assert metadata["checksum"] == tensor_checksum(state) == tensor_checksum(flow_state(pwc()))
    assert tensor_checksum(state) != tensor_checksum(flow_state(pwc(seed=2)))


def one_line(err: pytest.ExceptionInfo[FlowWeightsError]) -> str:
    message = str(err.value)
    assert "\n" not in message and message.startswith("model.flow.weights: ")
    return message


def test_a_missing_file_names_the_option_and_the_builtin_names(tmp_path: Path) -> None:
    with pytest.raises(FlowWeightsError) as err:
        build(f"model.flow.weights={tmp_path / 'nope.safetensors'}")
    assert "nope.safetensors" in one_line(err) and "pwc_synthetic" in str(err.value)


def test_weights_of_another_architecture_do_not_load(tmp_path: Path) -> None:
    path = save_flow_weights(tmp_path / "wide.safetensors", pwc((8, 8, 16)), {})
    with pytest.raises(FlowWeightsError) as err:
        build(f"model.flow.weights={path}")
    assert "does not fit the PWCFlow backbone" in one_line(err) and "expected (8, " in str(err.value)


@pytest.mark.parametrize("kind", ["text", "whole network export", "damaged"])
def test_files_that_are_not_flow_weights(tmp_path: Path, weights_file: Path, kind: str) -> None:
    path = tmp_path / "bad.safetensors"
    if kind == "text":
        path.write_text("not weights")
    elif kind == "whole network export":
        save_export(path, build().state_dict(), compose_config(SMALL, output_dir=tmp_path))
    else:
        state = load_file(str(weights_file))
        state["heads.1.bias"] = state["heads.1.bias"] + 1
        _, metadata = read_flow_weights(str(weights_file))
        save_file(state, str(path), metadata=metadata)
    with pytest.raises(FlowWeightsError) as err:
        build(f"model.flow.weights={path}")
    expected = {"text": "not a readable safetensors", "whole network export": "no format=", "damaged": "checksum"}
    assert expected[kind] in one_line(err)


def test_a_frozen_flow_trains_only_its_fusion_and_computes_no_warping_losses(weights_file: Path) -> None:
    net = build(f"model.flow.weights={weights_file}", "model.flow.trainable=false").train()
    trainable = {name for name, p in net.flow.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("fuse.") for name in trainable)
    frames = torch.rand(1, 3, 3, 32, 32)
    out = net(frames, 1)
    assert out.motion.losses == {}
    out.restored.mean().backward()
    assert net.flow.fuse["1"][0].weight.grad is not None and net.flow.heads["1"].weight.grad is None
    assert build(f"model.flow.weights={weights_file}").train()(frames, 1).motion.losses  # trainable: losses


def test_freezing_needs_weights() -> None:
    with pytest.raises(ValueError, match=r"^model.flow.trainable: false .* set model.flow.weights$"):
        build("model.flow.weights=null", "model.flow.trainable=false")


def test_an_exported_network_loads_without_the_flow_weights_file(tmp_path: Path, weights_file: Path) -> None:
    cfg = compose_config([*SMALL, f"model.flow.weights={weights_file}"], output_dir=tmp_path)
    net = build_net(cfg.model)
    export = save_export(tmp_path / "net.safetensors", net.state_dict(), cfg)
    weights_file.unlink()
    loaded, _ = load_net(export)
    assert torch.equal(loaded.flow.heads["1"].weight, net.flow.heads["1"].weight)


def test_the_train_entry_point_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    done = run_entry(
        "flowdeblur.train",
        [f"paths.root={tmp_path}", "logger=csv", "data=synthetic_tiny", "model.flow.weights=missing.safetensors"],
        120,
        env={"PYTHONPATH": f"{REPO / 'src'}:{REPO}"},
    )
    lines = [line for line in done.output.splitlines() if "error" in line.lower()]
    assert done.returncode == 2, done.output
    assert lines == [lines[0]] and lines[0].startswith("flowdeblur.train: error: FlowWeightsError: model.flow.weights")


def test_the_shipped_weights_carry_their_recipe_and_load_by_name(tmp_path: Path) -> None:
    from flowdeblur.pretrain_flow import config_hash

    state, metadata = read_flow_weights("pwc_synthetic")
    recipe = compose_config([], config_name="pretrain_flow", output_dir=tmp_path)
    # conf/pretrain_flow.yaml (backbone and recipe) is what made the file: `make pretrain-flow` reproduces it
    assert metadata["config_hash"] == config_hash(recipe), "rerun `make pretrain-flow`: the recipe changed"
    assert len(metadata["commit"]) == 40 and int(metadata["commit"], 16) >= 0
    assert len(metadata["data_hash"]) == 16 and int(metadata["data_hash"], 16) >= 0
    val = json.loads(metadata["val"])
    assert val["val/epe_moving"] < 0.9 * val["val/epe_moving_zero_flow"]  # it learned motion
    net = build_net(compose_config(["model.flow.weights=pwc_synthetic"]).model)
    loaded = flow_state(net.flow)
    assert all(torch.equal(loaded[k], state[k]) for k in state)
