"""Helpers shared by tests: composing configs and running tiny trainings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

TINY = [
    "data=synthetic_tiny",
    "logger=csv",
    "callbacks.progress_bar=null",
    "lpips_metric=false",
]


def compose_config(overrides: list[str], config_name: str = "train", output_dir: Path | None = None) -> DictConfig:
    """Compose a config from ``conf/`` as the entry point would; ``paths.output_dir`` set to ``output_dir``."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=overrides)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg


def config_options(group: str) -> list[str]:
    """Names of the options of a config group (the yaml files under ``conf/<group>``)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def tiny_train(tmp_path: Path, *overrides: str) -> dict[str, Any]:
    """Train with the tiny synthetic data and CSV logging into ``tmp_path``; returns metrics.json's content."""
    from flowdeblur.train import train

    cfg = compose_config([*TINY, *overrides], output_dir=tmp_path)
    return train(cfg)
