"""Evaluate a checkpoint: ``python -m flowdeblur.eval ckpt_path=... [data=...] [split=test]``.

The model is rebuilt from the config stored in the checkpoint (or in a safetensors export,
:mod:`flowdeblur.checkpoints.weights`); the data defaults to the data the model was trained on, and other data
(``data=gopro data.root=...``) takes the model's window (``model.num_frames``, ``model.target``). Whole frames
are restored at once when they fit ``max_memory_mb``, else in full-width strips equal to whole frames
(:mod:`flowdeblur.inference.tiled`); ``tile=<rows>`` forces strips. Writes ``metrics.json``, ``per_clip.csv``,
``per_clip.json`` (per sequence) and ``report.md`` into the run dir; metric conventions: docs/evaluation.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.checkpoints.weights import load_weights
from flowdeblur.config import CONF_DIR
from flowdeblur.config_schema import check_config
from flowdeblur.inference.tiled import OVERLAP, TiledNet
from flowdeblur.reporting.evaluation import write_reports
from flowdeblur.runs.job_log import route_to_job_log
from flowdeblur.runs.quiet import quiet_libraries
from flowdeblur.runs.status import check_own_run_dir
from flowdeblur.runs.summary import print_summary
from flowdeblur.runs.user_errors import user_errors
from flowdeblur.utils.files import write_json_atomic


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test the checkpoint on ``cfg.split`` of the chosen data; returns the flat metrics written to metrics.json."""
    check_config(cfg)
    check_own_run_dir(Path(cfg.paths.output_dir))
    quiet_libraries()
    route_to_job_log()
    config, net_state = load_weights(cfg.ckpt_path)
    if cfg.get("data") is not None:
        config.data = cfg.data  # it reads the window from the checkpoint's model (model.num_frames, model.target)
    config.lpips_metric = cfg.lpips_metric
    if config.data.get(cfg.split) is None:
        raise ValueError(f"split: the data config has no '{cfg.split}' split (expected one of train, val, test)")
    config.data.update({other: None for other in ("train", "val", "test") if other != cfg.split})
    module = build_module(config)
    module.net.load_state_dict(net_state)
    tiled = TiledNet(module.net, cfg.get("tile"), cfg.get("tile_overlap", OVERLAP), cfg.get("max_memory_mb"))
    module.net = tiled  # type: ignore[assignment]  # restores like the network it wraps (forward, stride, source)
    datamodule = build_datamodule(config)
    dataset = datamodule.dataset(cfg.split)
    if not getattr(dataset, "has_sharp", True):
        raise ValueError(
            f"data: the '{cfg.split}' split has no sharp frames to score against; restore such "
            "footage with `python -m flowdeblur.infer input=... output=... ckpt_path=...`"
        )
    loader = datamodule.eval_loader(cfg.split)
    trainer: pl.Trainer = instantiate(cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False)
    tested = trainer.test(module, loader, verbose=False)[0]
    results: dict[str, Any] = {k.replace("test/", f"{cfg.split}/"): v for k, v in tested.items()}
    out_dir = Path(cfg.paths.output_dir)
    if trainer.is_global_zero:
        results["ckpt_path"] = str(cfg.ckpt_path)
        write_json_atomic(out_dir / "metrics.json", results)
        names = getattr(dataset, "clip_names", {})
        reports = write_reports(out_dir, module.last_per_clip["test"], names, results, cfg.split)
        print_summary(results, (cfg.split,), {"metrics": out_dir / "metrics.json", **reports})
    return results


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    with user_errors("flowdeblur.eval"):
        evaluate(cfg)


if __name__ == "__main__":
    main()
