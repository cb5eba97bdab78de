"""W&B run identity inside sweeps, and the final summary of a run.

In a multirun every job's W&B run gets the same group, ``<sweep name>-<sweep dir>`` (the sweep name is the
``sweep`` or ``hparams_search`` option, else ``multirun``), tags ``[<sweep name>, *<job overrides>]`` and,
unless one is configured, the name ``<job num>: <overrides>``. Filter a sweep in the W&B UI by group; group by
a tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from pytorch_lightning.loggers import Logger, WandbLogger

from flowdeblur.utils.job_status import is_multirun, job_overrides

MAX_TAG_LEN = 64  # W&B's limit
SWEEP_GROUPS = ("sweep", "hparams_search")


def sweep_identity() -> dict[str, Any] | None:
    """``group``, ``tags`` and ``name`` of this job's run inside a multirun; None in a single run."""
    if not is_multirun():
        return None
    hydra_cfg = HydraConfig.get()
    choices = hydra_cfg.runtime.choices
    sweep = next((choices[g] for g in SWEEP_GROUPS if choices.get(g)), "multirun")
    sweep_dir = Path(hydra_cfg.sweep.dir)
    overrides = [o for o in job_overrides() if not o.lstrip("+~").startswith(SWEEP_GROUPS)]
    return {
        "group": f"{sweep}-{'_'.join(sweep_dir.parts[-2:])}",
        "tags": [tag[:MAX_TAG_LEN] for tag in (sweep, *overrides)],
        "name": f"{hydra_cfg.job.num}: {' '.join(overrides)}",
    }


def apply_sweep_identity(cfg: DictConfig) -> None:
    """Fill group, tags and name of every configured ``WandbLogger`` from :func:`sweep_identity`, in place."""
    identity = sweep_identity()
    if identity is None:
        return
    for node in (cfg.get("logger") or {}).values():
        if node is None or not str(node.get("_target_", "")).endswith("WandbLogger"):
            continue
        with open_dict(node):
            node.group = node.get("group") or identity["group"]
            node.tags = [*(node.get("tags") or []), *identity["tags"]]
            node.name = node.get("name") or identity["name"]


def log_summary(loggers: Iterable[Logger], results: Mapping[str, Any]) -> None:
    """Write the final results (metrics, params, MACs, time, status) into the W&B run summary."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.summary.update(dict(results))
