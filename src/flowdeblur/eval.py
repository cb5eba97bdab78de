"""Evaluate a checkpoint: ``python -m flowdeblur.eval ckpt_path=... [data=...] [split=test]``.

The model is rebuilt from the config stored in the checkpoint; the data defaults to the data the model was
trained on. Writes ``metrics.json`` and ``per_clip.csv`` into the run dir.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.checkpoint import checkpoint_config, load_checkpoint
from flowdeblur.utils.io import write_json_atomic, write_text_atomic
from flowdeblur.utils.summary import print_summary


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test the checkpoint on ``cfg.split`` of the chosen data; returns the flat metrics written to metrics.json."""
    ckpt = load_checkpoint(cfg.ckpt_path)
    config = checkpoint_config(ckpt, cfg.ckpt_path)
    if cfg.get("data") is not None:
        config.data = cfg.data
    config.lpips_metric = cfg.lpips_metric
    if config.data.get(cfg.split) is None:
        raise ValueError(f"split: the data config has no '{cfg.split}' split (expected one of train, val, test)")
    module = build_module(config)
    module.load_state_dict(ckpt["state_dict"])
    datamodule = build_datamodule(config)
    loader = datamodule.eval_loader(cfg.split)
    trainer: pl.Trainer = instantiate(cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False)
    results = {k.replace("test/", f"{cfg.split}/"): v for k, v in trainer.test(module, loader, verbose=False)[0].items()}
    out_dir = Path(cfg.paths.output_dir)
    if trainer.is_global_zero:
        results["ckpt_path"] = str(cfg.ckpt_path)
        write_json_atomic(out_dir / "metrics.json", results)
        write_text_atomic(out_dir / "per_clip.csv", per_clip_csv(module.last_per_clip["test"]))
        print_summary(results, (cfg.split,), {"metrics": out_dir / "metrics.json", "per clip": out_dir / "per_clip.csv"})
    return results


def per_clip_csv(per_clip: dict[str, dict[int, float]]) -> str:
    """Metric name -> clip -> value, as CSV with one row per clip."""
    names = sorted(per_clip)
    clips = sorted({clip for values in per_clip.values() for clip in values})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["clip", *names])
    for clip in clips:
        writer.writerow([clip, *(per_clip[n].get(clip, "") for n in names)])
    return out.getvalue()


@hydra.main(version_base="1.3", config_path="../../conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
