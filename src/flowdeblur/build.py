"""Build the experiment's objects from a composed config (shared by every entry point)."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flowdeblur.lit.datamodule import DataModule
from flowdeblur.lit.module import FlowDeblurModule
from flowdeblur.lit.throughput import tune_network
from flowdeblur.network import build_net


def build_module(cfg: DictConfig) -> FlowDeblurModule:
    """The LightningModule; the resolved config travels inside its checkpoints."""
    net = build_net(cfg.model, seed=cfg.get("seed"))
    check_crop(cfg, net.stride)
    tune_network(net, cfg.get("compile", False), cfg.get("channels_last", False))
    return FlowDeblurModule(
        net=net,
        loss=instantiate(cfg.model.loss),
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler) if cfg.optim.get("scheduler") else None,
        flow_supervised_weight=cfg.model.get("flow_supervised_weight", 0.0),
        lpips_metric=cfg.get("lpips_metric", False),
        config=to_container(cfg),
        nonfinite=cfg.get("nonfinite", "skip"),
    )


def build_datamodule(cfg: DictConfig) -> DataModule:
    """The DataModule from the ``data`` config node; split factories are built lazily."""
    data = cfg.data
    return DataModule(
        **{
            split: instantiate(dataset_config(data, split), _partial_=True) if data.get(split) else None
            for split in ("train", "val", "test")
        },
        batch_size=data.batch_size,
        eval_batch_size=data.get("eval_batch_size"),
        num_workers=data.num_workers,
        seed=cfg.get("seed"),
        render_on=data.get("render_on", "auto"),
    )


def dataset_config(data: DictConfig, split: str) -> dict[str, Any]:
    """``data.<split>`` completed by the arguments every split shares (``data.dataset``), resolved.

    Configs stored by older checkpoints have no ``data.dataset``: their split nodes are complete.
    """
    nodes = [data.dataset, data[split]] if data.get("dataset") else [data[split]]
    merged: dict[str, Any] = {}
    for node in nodes:
        merged.update(OmegaConf.to_container(node, resolve=True, throw_on_missing=True))  # type: ignore[arg-type]
    return merged


def build_dataset(data: DictConfig, split: str, **overrides: Any) -> Any:
    """The data set of one split (``overrides`` replace config arguments, e.g. ``length=1``)."""
    return instantiate(dataset_config(data, split), **overrides)


def check_crop(cfg: DictConfig, stride: int) -> None:
    """Training/eval crops must be at least twice the network's coarsest stride."""
    for split in ("train", "val", "test"):
        node = cfg.data.get(split)
        crop = node.get("crop") if node else None
        if crop is None:
            continue
        sizes = [crop] if isinstance(crop, int) else list(crop)
        if min(sizes) < 2 * stride:
            raise ValueError(
                f"data.{split}.crop: expected at least {2 * stride} (twice the model's coarsest stride {stride}), "
                f"got {crop}"
            )


def to_container(cfg: DictConfig) -> dict[str, Any]:
    """Resolved plain-dict copy of a config (without the Hydra runtime node)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)  # type: ignore[return-value]
