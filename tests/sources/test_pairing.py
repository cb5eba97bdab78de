"""Paired variants: at one seed every preset starts from the same weights for every part it shares with tcsvt
(whatever the other parts consumed from the random stream, whatever the global generator's state) and trains on
the same clips in the same order."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import nn

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.network import FlowDeblurNet, build_net, part_seed
from tests.helpers import TINY, compose_config

SEED = 3
TARGET_INPUT = ("tcsvt", "content_encoder", "no_warp_loss", "static_encoder")
WINDOW_INPUT = ("tcsvt_window", "content_window", "static_window", "flow_aligned")
LEARNED_FLOW = ("tcsvt", "content_encoder", "no_warp_loss", "tcsvt_window", "content_window", "flow_aligned")
PRESETS = (*TARGET_INPUT, *WINDOW_INPUT, "static_encoder_wide", "static_encoder_macs")


@cache
def net(name: str, seed: int = SEED) -> FlowDeblurNet:
    """The preset's network at ``seed``, built after a global generator state of its own."""
    torch.manual_seed(len(name))
    return build_net(compose_config([f"experiment={name}"]).model, seed=seed)


def assert_same(modules: list[nn.Module]) -> None:
    first = modules[0].state_dict()
    assert len(first) > 0
    for other in modules[1:]:
        state = other.state_dict()
        assert state.keys() == first.keys()
        assert all(torch.equal(state[k], first[k]) for k in first)


def test_presets_share_their_deblurrer_weights_at_one_seed() -> None:
    assert_same([net(name).deblurrer for name in TARGET_INPUT])
    assert_same([net(name).deblurrer for name in WINDOW_INPUT])


def test_presets_share_their_flow_backbone_weights_at_one_seed() -> None:
    assert_same([net(name).flow for name in LEARNED_FLOW])


def test_presets_share_their_weight_heads_at_one_seed() -> None:
    """The static source builds the flow source's heads first, from the same generator."""
    assert_same([net(name).source.heads for name in (*TARGET_INPUT, *WINDOW_INPUT)])


def test_another_seed_gives_other_weights() -> None:
    a, b = net("tcsvt").deblurrer.state_dict(), net("tcsvt", SEED + 1).deblurrer.state_dict()
    assert not torch.equal(a["stem.0.weight"], b["stem.0.weight"])
    assert part_seed(SEED, "flow") != part_seed(SEED, "deblurrer") != part_seed(SEED + 1, "deblurrer")


def test_building_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_net(compose_config(["experiment=tcsvt"]).model, seed=SEED)
    assert torch.equal(torch.rand(3), expected)


def first_batch(name: str, tmp_path: Path, seed: int = SEED) -> dict[str, torch.Tensor]:
    """The first training batch of the preset, set up as the train entry point does."""
    cfg = compose_config([*TINY, f"experiment={name}", f"seed={seed}"], output_dir=tmp_path)
    pl.seed_everything(cfg.seed)
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    build_module(cfg)
    torch.rand(len(name))  # whatever else a variant consumes from the global generator
    return next(iter(datamodule.train_dataloader()))


def test_presets_train_on_the_same_clips_in_the_same_order(tmp_path: Path) -> None:
    batches = [first_batch(name, tmp_path) for name in PRESETS]
    for batch in batches[1:]:
        assert torch.equal(batch["index"], batches[0]["index"])
        assert torch.equal(batch["blurry"], batches[0]["blurry"])
    assert not torch.equal(first_batch("tcsvt", tmp_path, SEED + 1)["index"], batches[0]["index"])
