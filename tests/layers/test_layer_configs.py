"""The layer and head configs instantiate (partials completed by the network) and pair up by weight kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from flowdeblur.config import CONF_DIR

CONF = CONF_DIR / "model"
PAIRS = {"spatial_rnn": "rnn_gates", "filter_adaptive_conv": "filters", "dynamic_conv": "kernels"}
CLASSES = {
    "spatial_rnn": "SpatialRNN",
    "filter_adaptive_conv": "FilterAdaptiveConv",
    "dynamic_conv": "DynamicConv",
    "rnn_gates": "RNNGatesHead",
    "filters": "FiltersHead",
    "kernels": "KernelsHead",
}


MISMATCHED = [(layer, head) for layer in PAIRS for head in PAIRS.values() if PAIRS[layer] != head]


def factory(group: str, name: str) -> Callable[..., Any]:
    """The configured class as a partial, as the network receives it."""
    return instantiate(OmegaConf.load(CONF / group / f"{name}.yaml"))


def test_every_layer_and_head_config_has_a_pair() -> None:
    assert sorted(p.stem for p in (CONF / "layer").glob("*.yaml")) == sorted(PAIRS)
    assert sorted(p.stem for p in (CONF / "head").glob("*.yaml")) == sorted(PAIRS.values())


@pytest.mark.parametrize(("layer_name", "head_name"), PAIRS.items())
def test_configured_pair_builds_and_runs(layer_name: str, head_name: str) -> None:
    torch.manual_seed(0)
    layer = factory("layer", layer_name)(8)
    head = factory("head", head_name)(5, layer.weight_spec)
    assert type(layer).__name__ == CLASSES[layer_name] and type(head).__name__ == CLASSES[head_name]
    x = torch.randn(2, 8, 12, 10)
    y = layer(x, head(torch.randn(2, 5, 12, 10)))
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize(("layer_name", "head_name"), MISMATCHED)
def test_mismatched_pair_fails_at_construction(layer_name: str, head_name: str) -> None:
    spec = factory("layer", layer_name)(8).weight_spec
    with pytest.raises(ValueError, match=f"needs '{spec.kind}' weights"):
        factory("head", head_name)(5, spec)
