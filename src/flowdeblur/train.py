"""Train a flow-conditioned deblurring model: ``python -m flowdeblur.train [overrides]``.

Compose the config, instantiate data, model, trainer and loggers, fit, validate and test the checkpoint chosen by
``test_ckpt`` (:mod:`flowdeblur.lit.final_checkpoint`), write ``metrics.json`` (with that checkpoint's path and
step) into the run dir, and return the metric a sweeper optimises.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.checkpoints.resume import resume_path
from flowdeblur.config import CONF_DIR
from flowdeblur.config_schema import check_config
from flowdeblur.data.splits import check_validation_split
from flowdeblur.distributed.launch import check_launch
from flowdeblur.distributed.process_group import teardown_process_group
from flowdeblur.lit.final_checkpoint import (
    better,
    candidate_checkpoints,
    check_choice,
    load_chosen,
    without_weight_averaging,
)
from flowdeblur.lit.module import FlowDeblurModule
from flowdeblur.loggers.wandb_env import default_to_offline, finish_wandb_run
from flowdeblur.loggers.wandb_run import apply_run_id, apply_sweep_identity, log_summary
from flowdeblur.loggers.wandb_sync import wandb_location
from flowdeblur.metrics.complexity import count_macs, count_parameters, effective_parameters
from flowdeblur.runs.job_log import route_to_job_log
from flowdeblur.runs.quiet import quiet_libraries
from flowdeblur.runs.run_dir import check_run_dir
from flowdeblur.runs.speed import learning_speed
from flowdeblur.runs.status import check_own_run_dir, completed_results, mark_running, run_job
from flowdeblur.runs.summary import print_parameters, print_summary
from flowdeblur.runs.user_errors import user_errors
from flowdeblur.utils.files import write_json_atomic

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run one experiment; returns the flat metrics also written to ``<run dir>/metrics.json``."""
    check_config(cfg)
    default_to_offline()
    quiet_libraries()
    route_to_job_log()
    out_dir = check_run_dir(cfg.paths.output_dir, cfg.get("min_free_mb", 0))
    if cfg.get("skip_completed") and (done := completed_results(out_dir)) is not None:
        log.info("%s holds a completed run of these overrides: not trained again", out_dir)
        return done
    check_own_run_dir(out_dir)
    ckpt_path = resume_path(cfg.get("ckpt_path"), out_dir)
    check_choice(cfg.get("test_ckpt", "best"))
    mark_running(out_dir)
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    module = build_module(cfg)
    summary = model_summary(module, cfg)
    print_parameters(summary)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    apply_sweep_identity(cfg)
    apply_run_id(cfg, out_dir)
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    for logger in trainer.loggers:
        logger.log_hyperparams(summary)
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    summary["time/train_s"] = time.perf_counter() - start
    results = dict(summary)
    results["train/skipped_steps"] = module.skipped_steps
    if not getattr(trainer, "fast_dev_run", False):
        results.update(final_evaluation(trainer, module, datamodule, cfg, out_dir))
        if ckpt_path is None:  # a resumed run's time covers only its last part
            samples = trainer.global_step * int(cfg.data.batch_size) * trainer.world_size
            results.update(learning_speed(results, samples, results["time/train_s"]))
    results["status"] = "completed"
    if trainer.is_global_zero:
        write_json_atomic(out_dir / "metrics.json", results)
        log_summary(trainer.loggers, results)
        print_summary(
            results,
            ("val", "test"),
            {
                "run dir": out_dir,
                "checkpoint": results.get("checkpoint/path", "(none)"),
                "config": out_dir / ".hydra" / "config.yaml",
                "metrics": out_dir / "metrics.json",
                **({"W&B run": where} if (where := wandb_location(trainer.loggers)) else {}),
            },
        )
    finish_wandb_run()
    teardown_process_group()
    return results


def final_evaluation(
    trainer: pl.Trainer, module: pl.LightningModule, datamodule: pl.LightningDataModule, cfg: DictConfig, out_dir: Path
) -> dict[str, Any]:
    """Validate the candidates of ``test_ckpt``, keep the better one by the monitored metric and (with ``run_test``)
    test it; its path and step included."""
    validated = []
    with without_weight_averaging(trainer):
        for path in candidate_checkpoints(trainer, cfg.get("test_ckpt", "best"), out_dir):
            results = load_chosen(module, trainer, path)
            results.update(trainer.validate(module, datamodule=datamodule, verbose=False)[0])
            validated.append(results)
        results = better(validated, trainer)
        if results is not validated[-1]:
            load_chosen(module, trainer, Path(results["checkpoint/path"]))
        if cfg.get("run_test") and cfg.data.get("test"):
            results.update(trainer.test(module, datamodule=datamodule, verbose=False)[0])
    return results


def model_summary(module: FlowDeblurModule, cfg: DictConfig) -> dict[str, Any]:
    """Parameter counts, MACs at the validation crop, and the job's command-line overrides."""
    crop = cfg.data.val.get("crop", 256) if cfg.data.get("val") else 256
    height, width = (int(crop), int(crop)) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))
    net = module.net
    summary: dict[str, Any] = {f"params/{k}": v for k, v in count_parameters(net).items()}
    probe = max(64, 2 * net.stride)
    summary["params/effective"] = effective_parameters(net, probe, probe)
    summary["macs"] = count_macs(net, height, width)
    summary["macs_resolution"] = f"{height}x{width}"
    summary["overrides"] = " ".join(HydraConfig.get().overrides.task) if HydraConfig.initialized() else ""
    summary["val_split"] = check_validation_split(cfg.data)
    return summary


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float:
    """Hydra entry point; returns ``cfg.optimized_metric`` for sweepers."""
    with user_errors("flowdeblur.train"):
        check_launch(cfg.trainer)
        results = run_job(train, cfg, on_failure=lambda: finish_wandb_run(exit_code=1))
    return float(results.get(cfg.optimized_metric, float("nan")))


if __name__ == "__main__":
    main()
