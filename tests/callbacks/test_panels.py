"""Validation panels and what an offline W&B run recorded, read back from its .wandb file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest
import torch
from wandb.proto import wandb_internal_pb2

from flowdeblur.callbacks.panels import ValidationPanels, clip_indices
from flowdeblur.flow.base import MotionFeatures
from flowdeblur.network import NetOutput
from flowdeblur.train import train
from flowdeblur.viz.panel import panel_tiles, render_panel
from tests.helpers import compose_config
from tests.loggers.wandb_reader import (
    BLOCK_LEN,
    FILE_HEADER,
    OfflineRunError,
    load_offline_run,
    read_records,
)
from tests.sweeping import TINY_SWEEP


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Two optimisation steps (one epoch) with the W&B logger, offline: panels at epoch 0 and at the end."""
    out = tmp_path_factory.mktemp("wandb_run")
    cfg = compose_config(
        [*TINY_SWEEP, "logger=wandb", "trainer.max_steps=2", "data.train.length=4", "callbacks.panels.num_clips=2"],
        output_dir=out,
    )
    return out, train(cfg)


def test_history_summary_and_config_are_read_back(wandb_run: tuple[Path, dict]) -> None:
    out, results = wandb_run
    history, summary, config, _ = load_offline_run(out)
    psnr = [row["val/psnr"] for row in history if "val/psnr" in row]
    assert len(psnr) == 2 and psnr[-1] == pytest.approx(results["val/psnr"])
    assert any("train/loss" in row for row in history)
    assert summary["status"] == "completed" and summary["params/total"] == results["params/total"]
    assert config["config"]["model"]["source"]["_target_"] == "flowdeblur.sources.flow.FlowSource"
    assert config["config"]["data"]["train"]["crop"] == 64


def test_panels_are_logged_as_images_and_pngs(wandb_run: tuple[Path, dict]) -> None:
    out, _ = wandb_run
    history, _, _, files = load_offline_run(out)
    logged = [(key, row[key]) for row in history for key in row if key.startswith("panels/clip")]
    assert {key for key, _ in logged} == {"panels/clip0", "panels/clip3"} and len(logged) == 4
    images = [f for f in files if f.suffix == ".png" and "panels" in f.parts]
    assert len(images) == 4
    for key, value in logged:
        assert value["_type"] == "images/separated" and value["captions"][0].startswith(f"clip {key[-1]} ")
    image = matplotlib.image.imread(images[0])
    assert image.shape[1] > 6 * image.shape[0] / 2  # 8 tiles side by side: blurry ... weights L1-L3
    assert sorted(p.name for p in (out / "panels").glob("*.png"))[:2] == [
        "epoch000_step000002_clip0.png",
        "epoch000_step000002_clip3.png",
    ]


def fake_output(per_pixel: bool) -> tuple[dict, NetOutput]:
    torch.manual_seed(0)
    batch = {"blurry": torch.rand(1, 3, 3, 32, 40), "sharp": torch.rand(1, 3, 3, 32, 40)}
    flows = {1: torch.zeros(1, 2, 2, 16, 20).index_fill_(2, torch.tensor([0]), 2.0)}
    weights = {1: torch.rand(1, 8, 16, 20) if per_pixel else torch.rand(1, 10), 2: torch.rand(1, 8, 8, 10)}
    out = NetOutput(restored=batch["sharp"][:, 1] + 0.05, motion=MotionFeatures({}, flows), weights=weights)
    return batch, out


@pytest.mark.parametrize("per_pixel", [True, False])
def test_panel_tiles(per_pixel: bool) -> None:
    batch, out = fake_output(per_pixel)
    tiles = panel_tiles(batch, out, target=1, error_max=0.1)
    names = [name for name, _ in tiles]
    assert names[:3] == ["blurry target", "restored", "sharp"] and names[3].startswith("flow (L1, max 4 px)")
    assert names[4] == "|error| (0–0.1)"
    assert [n.split(" (")[0] for n in names[5:]] == ["|weights| L1", "|weights| L2"]
    for _, tile in tiles:
        assert tile.shape == (32, 40, 3) and 0 <= tile.min() and tile.max() <= 1
    np.testing.assert_allclose(tiles[0][1], batch["blurry"][0, 1].permute(1, 2, 0).numpy(), atol=1e-6)
    flow_tile = tiles[3][1]
    assert np.allclose(flow_tile, flow_tile[0, 0]) and flow_tile[0, 0, 0] > 0.9  # uniform +x flow: red
    image = render_panel(tiles, "title")
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_panels_only_on_rank_zero_and_every_n_epochs() -> None:
    panels = ValidationPanels(every_n_epochs=2, num_clips=3)
    state = SimpleNamespace(fn="fit")
    trainer = SimpleNamespace(sanity_checking=False, is_global_zero=True, current_epoch=2, state=state)
    assert panels.due(trainer)
    trainer.current_epoch = 3
    assert not panels.due(trainer)
    state.fn = "validate"
    assert panels.due(trainer)
    trainer.is_global_zero = False
    assert not panels.due(trainer)
    assert clip_indices(10, 3) == [0, 4, 9] and clip_indices(2, 5) == [0, 1] and clip_indices(0, 2) == []
    with pytest.raises(ValueError, match="callbacks.panels"):
        ValidationPanels(num_clips=0)


def write_log(path: Path, payloads: list[bytes]) -> None:
    """The .wandb framing: file header, then records in 32 KiB blocks (split FIRST/MIDDLE/LAST)."""
    data = bytearray(FILE_HEADER)
    for payload in payloads:
        rest, first = payload, True
        while True:
            if BLOCK_LEN - len(data) % BLOCK_LEN < 7:
                data += bytes(BLOCK_LEN - len(data) % BLOCK_LEN)
            room = BLOCK_LEN - len(data) % BLOCK_LEN - 7
            chunk, rest = rest[:room], rest[room:]
            kind = (1 if first else 4) if not rest else (2 if first else 3)
            crc = zlib.crc32(chunk, zlib.crc32(bytes([kind])))
            data += struct.pack("<IHB", crc, len(chunk), kind) + chunk
            first = False
            if not rest:
                break
    path.write_bytes(bytes(data))


def history_record(step: int, text: str) -> bytes:
    record = wandb_internal_pb2.Record()
    item = record.history.item.add()
    item.key, item.value_json = "note", f'"{text}"'
    step_item = record.history.item.add()
    step_item.key, step_item.value_json = "_step", str(step)
    return record.SerializeToString()


def test_reader_reassembles_records_across_blocks(tmp_path: Path) -> None:
    run_file = tmp_path / "run-x.wandb"
    texts = ["a" * 100, "b" * 80_000, "c" * 10]  # the second spans three blocks
    write_log(run_file, [history_record(i, t) for i, t in enumerate(texts)])
    assert [r.history.item[0].value_json.strip('"') for r in read_records(run_file)] == texts
    history, _, _, _ = load_offline_run(run_file)
    assert [row["_step"] for row in history] == [0, 1, 2]
    run_file.write_bytes(run_file.read_bytes()[:-5])  # a torn tail, as from a killed process
    assert len(list(read_records(run_file))) == 2


def test_reader_rejects_what_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(OfflineRunError, match="expected a W&B run file"):
        load_offline_run(tmp_path)
    bad = tmp_path / "run-y.wandb"
    bad.write_bytes(b"not a run")
    with pytest.raises(OfflineRunError, match="not a W&B run file"):
        list(read_records(bad))
