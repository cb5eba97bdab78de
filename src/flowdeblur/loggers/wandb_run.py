"""W&B run identity inside sweeps, and the final summary of a run.

In a multirun every job's W&B run gets the same group, ``<sweep name>-<sweep dir>`` (the sweep name is the
``sweep`` or ``hparams_search`` option, else ``multirun``), tags ``[<sweep name>, *<job overrides>]`` and,
unless one is configured, the name ``<job num>: <overrides>``. Filter a sweep in the W&B UI by group; group by
a tag.

Every run keeps its W&B run id in ``<run dir>/wandb_run_id``: a training resumed in that run dir
(``ckpt_path=last``) continues the same W&B run, online or offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from pytorch_lightning.loggers import Logger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from flowdeblur.runs.status import is_multirun, job_overrides
from flowdeblur.utils.files import write_text_atomic

MAX_TAG_LEN = 64  # W&B's limit
SWEEP_GROUPS = ("sweep", "hparams_search")
RUN_ID_FILE = "wandb_run_id"


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


def apply_run_id(cfg: DictConfig, out_dir: Path) -> str | None:
    """Give every configured ``WandbLogger`` the run dir's W&B run id (made and stored on the first start) and
    ``resume="allow"``, in place; returns the id, or None without a W&B logger."""
    nodes = [
        node
        for node in (cfg.get("logger") or {}).values()
        if node is not None and str(node.get("_target_", "")).endswith("WandbLogger")
    ]
    if not nodes:
        return None
    id_file = out_dir / RUN_ID_FILE
    run_id = id_file.read_text().strip() if id_file.is_file() else ""
    if not run_id and getattr(rank_zero_only, "rank", 0) != 0:  # only rank 0 logs to W&B; it writes the id
        return None
    if not run_id:
        run_id = uuid4().hex[:12]
        write_text_atomic(id_file, run_id + "\n")
    for node in nodes:
        with open_dict(node):
            node.id = node.get("id") or run_id
            node.resume = node.get("resume") or "allow"
    return run_id


def log_summary(loggers: Iterable[Logger], results: Mapping[str, Any]) -> None:
    """Write the final results (metrics, params, MACs, time, status) into the W&B run summary."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.summary.update(dict(results))
