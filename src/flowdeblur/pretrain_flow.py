"""Pretrain the flow backbone on ground-truth flow: ``python -m flowdeblur.pretrain_flow [overrides]``
(``make pretrain-flow``).

The backbone of ``model.flow`` (built from scratch: its ``weights`` are ignored) is trained on blurry synthetic
clips (``data``, train split, a fresh clip per sample) against their exact flow: the end-point error of every
level's flow, up-sampled to full resolution, averaged over levels (``warping_weight`` > 0 adds the backbone's own
self-supervised warping losses). The run dir gets ``metrics.json`` (validation EPE on all and on moving pixels,
against zero flow) and the weights file ``output`` (:mod:`flowdeblur.flow.pretrained`), which loads with
``model.flow.weights=<path>``; ``make pretrain-flow`` writes the builtin ``pwc_synthetic``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn
from torch.utils.data import DataLoader

from flowdeblur.build import build_dataset
from flowdeblur.config import CONF_DIR
from flowdeblur.flow.pretrained import save_flow_weights, without_weights
from flowdeblur.lit.datamodule import loader_workers
from flowdeblur.lit.schedule import warmup_cosine
from flowdeblur.metrics.flow import end_point_error, end_point_error_map
from flowdeblur.runs.run_dir import check_run_dir
from flowdeblur.runs.user_errors import user_errors
from flowdeblur.utils.files import write_json_atomic


def supervised_loss(flows: dict[int, Tensor], gt: Tensor) -> Tensor:
    """Mean over levels of the end-point error (full-resolution pixels) of each level's flow against ``gt``
    (B, T-1, 2, H, W)."""
    return torch.stack([end_point_error({level: flow}, gt).mean() for level, flow in flows.items()]).mean()


@torch.no_grad()
def evaluate(backbone: nn.Module, loader: DataLoader, autocast: bool) -> dict[str, float]:
    """Validation EPE (px) of the finest flow on all and on moving pixels, and that of zero flow."""
    sums = torch.zeros(5, dtype=torch.float64)  # error, zero error, moving error, moving zero error, moving count
    pixels = 0
    backbone.eval()
    for batch in loader:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            flows = backbone(batch["blurry"], int(batch["target"][0])).flows
        error = end_point_error_map(flows, batch["flow"])
        zero = batch["flow"].norm(dim=2)
        moving = batch["mask"].expand_as(error)
        terms = [error.sum(), zero.sum(), (error * moving).sum(), (zero * moving).sum(), moving.sum()]
        sums += torch.stack(terms).double()
        pixels += error.numel()
    backbone.train()
    return {
        "val/epe": float(sums[0] / pixels),
        "val/epe_zero_flow": float(sums[1] / pixels),
        "val/epe_moving": float(sums[2] / sums[4]),
        "val/epe_moving_zero_flow": float(sums[3] / sums[4]),
    }


def config_hash(cfg: DictConfig) -> str:
    """sha256 (16 hex digits) of the resolved recipe: the backbone's config and the ``pretrain`` settings."""
    recipe = {
        "flow": OmegaConf.to_container(without_weights(cfg.model.flow), resolve=True),
        "pretrain": OmegaConf.to_container(cfg.pretrain, resolve=True),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def data_hash(data: DictConfig) -> str:
    """sha256 (16 hex digits) of the resolved data config the weights were trained on."""
    resolved = OmegaConf.to_container(data, resolve=True)
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:16]


def source_commit() -> str:
    """The checkout's commit (``+dirty`` with uncommitted changes to tracked files), or ``unknown``."""
    where = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pretrain(cfg: DictConfig) -> dict[str, Any]:
    """Train, validate every ``pretrain.val_every`` steps, write the weights and ``metrics.json``."""
    out_dir = check_run_dir(cfg.paths.output_dir, cfg.get("min_free_mb", 0))
    commit = source_commit()  # the code that trains, before anything can change the checkout
    recipe = cfg.pretrain
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(cfg.seed)
    backbone = instantiate(without_weights(cfg.model.flow))
    steps, batch_size = int(recipe.steps), int(cfg.data.batch_size)
    train = build_dataset(cfg.data, "train", length=steps * batch_size)
    loader = DataLoader(train, batch_size=batch_size, num_workers=loader_workers(cfg.data.num_workers))
    val_loader = DataLoader(build_dataset(cfg.data, "val"), batch_size=16)
    optimizer = torch.optim.AdamW(backbone.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = warmup_cosine(optimizer, steps, recipe.warmup_steps, recipe.min_lr_ratio)
    # the warping losses are computed in training mode only: without them the backbone runs in eval mode
    # (it has no normalisation or dropout layers, so the flows are the same)
    backbone.train(recipe.warping_weight > 0)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for step, batch in enumerate(loader, 1):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16):
            motion = backbone(batch["blurry"], int(batch["target"][0]))
            loss = recipe.supervised_weight * supervised_loss(motion.flows, batch["flow"])
            if recipe.warping_weight > 0:
                loss = loss + recipe.warping_weight * sum(motion.losses.values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % recipe.val_every == 0 or step == steps:
            row = {"step": step, "train/loss": float(loss.detach()), "time_s": time.perf_counter() - start}
            row.update(evaluate(backbone, val_loader, recipe.bf16))
            backbone.train(recipe.warping_weight > 0)
            history.append(row)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    results = {**history[-1], "time/train_s": time.perf_counter() - start, "history": history}
    metadata = {
        "config_hash": config_hash(cfg),
        "data_hash": data_hash(cfg.data),
        "commit": commit,
        "backbone": OmegaConf.to_container(without_weights(cfg.model.flow), resolve=True),
        "recipe": OmegaConf.to_container(recipe, resolve=True),
        "val": {k: v for k, v in history[-1].items() if k.startswith("val/")},
    }
    path = save_flow_weights(cfg.output, backbone, metadata)
    results.update(weights=str(path), config_hash=metadata["config_hash"], commit=metadata["commit"])
    write_json_atomic(out_dir / "metrics.json", results)
    print(f"flow weights: {path}  val EPE {results['val/epe']:.3f} px (moving {results['val/epe_moving']:.3f} px)")
    return results


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="pretrain_flow")
def main(cfg: DictConfig) -> None:
    """Hydra entry point."""
    with user_errors("flowdeblur.pretrain_flow"):
        pretrain(cfg)


if __name__ == "__main__":
    main()
