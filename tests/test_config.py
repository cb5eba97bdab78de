"""Every option of every config group composes; typos and invalid values fail clearly."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from flowdeblur.network import build_net
from tests.helpers import compose_config, config_options

GROUPS = [
    "data",
    "model/flow",
    "model/source",
    "model/head",
    "model/layer",
    "model/deblurrer",
    "model/loss",
    "optim",
    "trainer",
    "logger",
    "callbacks",
    "experiment",
    "debug",
]
CASES = [(group, name) for group in GROUPS for name in config_options(group)]


@pytest.mark.parametrize(("group", "name"), CASES, ids=[f"{g}={n}" for g, n in CASES])
def test_every_option_composes(group: str, name: str) -> None:
    # real-footage data configs require data.root (???); "++" also adds it to configs without one
    cfg = compose_config([f"{group}={name}", *(["++data.root=/data"] if group in ("data", "experiment") else [])])
    resolved = OmegaConf.to_container(cfg.model, resolve=True)
    assert isinstance(resolved, dict) and "flow" in resolved
    OmegaConf.to_container(cfg.data, resolve=True)


@pytest.mark.parametrize("name", config_options("experiment"))
def test_every_experiment_builds_a_network(name: str) -> None:
    cfg = compose_config([f"experiment={name}"])
    net = build_net(cfg.model)
    assert sum(p.numel() for p in net.parameters()) > 0


@pytest.mark.parametrize("override", ["model/flow=pyramd", "data=synthtic", "experiment=tcsv"])
def test_typo_lists_valid_choices(override: str) -> None:
    with pytest.raises((MissingConfigException, ConfigCompositionException)) as err:
        compose_config([override])
    assert "Available options" in str(err.value) or "Could not find" in str(err.value)
