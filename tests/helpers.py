"""Helpers shared by tests: composing configs and running tiny trainings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from flowdeblur.config import CONF_DIR, compose_config

TINY = [
    "data=synthetic_tiny",
    "logger=csv",
    "~callbacks.progress_bar",
    "lpips_metric=false",
]


def config_options(group: str) -> list[str]:
    """Names of the options of a config group (the yaml files under ``conf/<group>``)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def tiny_train(tmp_path: Path, *overrides: str) -> dict[str, Any]:
    """Train with the tiny synthetic data and CSV logging into ``tmp_path``; returns metrics.json's content."""
    from flowdeblur.train import train

    cfg = compose_config([*TINY, *overrides], output_dir=tmp_path)
    return train(cfg)


def bare_trainer(max_steps: int, **options: Any) -> pl.Trainer:
    """A Trainer for ``max_steps`` training steps only: no logger, checkpoints, progress bar, summary or validation."""
    return pl.Trainer(
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        **options,
    )
