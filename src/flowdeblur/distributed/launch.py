"""Refuse trainer set-ups that cannot run, with one clear error before any work starts.

Lightning's default DDP start (``DDPStrategy(start_method="popen")``) runs the other ranks by re-running the
command line. In a single run that works: Lightning passes the parent's ``hydra.run.dir`` to the children, so
all ranks share one run dir. In a Hydra multirun each child would replay the whole sweep, so that combination
is refused, as is a multirun under ``torchrun`` (every rank would run its own sweep in its own sweep dir). A
multirun works with one device per job, with fork-started ranks (``trainer=ddp_cpu``) and with ranks started
by SLURM (``launcher=submitit_slurm``). The support matrix is in docs/distributed.md.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning_fabric.plugins.environments import TorchElasticEnvironment
from lightning_fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.accelerators import CPUAccelerator
from pytorch_lightning.strategies import ParallelStrategy
from pytorch_lightning.strategies.launchers import _SubprocessScriptLauncher

LAUNCH_KEYS = ("accelerator", "devices", "num_nodes", "strategy", "plugins")
SEE_DOCS = "see docs/distributed.md"


class LaunchError(ValueError):
    """A trainer configuration that cannot run as asked, explained in terms of config keys."""


def check_launch(trainer_cfg: DictConfig, multirun: bool | None = None) -> None:
    """Raise :class:`LaunchError` when ``trainer_cfg`` cannot run here.

    Refused: devices that do not exist (GPUs on a machine without them, more CPU processes than cores), DDP
    with a single process in all, and, in a multirun, strategies that start ranks by re-running the command
    line or under torchrun.

    Args:
        trainer_cfg: the ``trainer`` config node.
        multirun: whether this is a Hydra multirun; None reads it from the running Hydra job (False outside).
    """
    if multirun is None:
        multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    trainer = probe_trainer(trainer_cfg)
    strategy = trainer.strategy
    environment = getattr(strategy, "cluster_environment", None)
    external = environment is not None and environment.creates_processes_externally
    if isinstance(strategy, ParallelStrategy) and trainer.world_size < 2:
        raise LaunchError(
            f"trainer: {type(strategy).__name__} with a single process (trainer.devices x trainer.num_nodes"
            f" = {trainer.num_devices} x {trainer.num_nodes}); DDP needs at least 2. For one device use"
            " trainer=cpu or trainer=gpu, or raise trainer.devices"
        )
    cores = available_cores()
    if isinstance(trainer.accelerator, CPUAccelerator) and not external and trainer.num_devices > cores:
        raise LaunchError(
            f"trainer.devices={trainer.num_devices}: more CPU processes than the {cores} CPU cores available"
            f" here; use at most {cores}"
        )
    if multirun and isinstance(strategy.launcher, _SubprocessScriptLauncher) and not external:
        raise LaunchError(
            f"trainer: {type(strategy).__name__} starts its other rank(s) by re-running the command line,"
            " which in a multirun would replay the whole sweep in every rank. In a multirun use"
            " trainer=ddp_cpu (fork-started ranks, CPU), one device per job (trainer=gpu), or"
            f" launcher=submitit_slurm (SLURM starts the ranks); {SEE_DOCS}"
        )
    if multirun and isinstance(environment, TorchElasticEnvironment):
        raise LaunchError(
            "trainer: a multirun under torchrun runs the whole sweep in every rank, each in its own sweep"
            f" dir. Run the jobs one at a time under torchrun, or use launcher=submitit_slurm; {SEE_DOCS}"
        )


def probe_trainer(trainer_cfg: DictConfig) -> pl.Trainer:
    """A throwaway Trainer from the launch keys of ``trainer_cfg`` alone: no loggers, callbacks or files."""
    kwargs = {key: _instantiate(trainer_cfg[key]) for key in LAUNCH_KEYS if trainer_cfg.get(key) is not None}
    logger = logging.getLogger("pytorch_lightning")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return pl.Trainer(
            **kwargs,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    except MisconfigurationException as err:
        asked = ", ".join(f"{key}={kwargs[key]}" for key in ("accelerator", "devices") if key in kwargs)
        raise LaunchError(f"trainer ({asked}) cannot run on this machine: {err}") from err
    finally:
        logger.setLevel(level)


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _instantiate(value: Any) -> Any:
    return instantiate(value, _convert_="all") if OmegaConf.is_config(value) else value


class LaunchCheck(Callback):
    """Hydra callback: :func:`check_launch` once before a multirun's first job starts.

    Hydra turns exceptions raised in callbacks into warnings, so a refusal ends the process with
    ``SystemExit`` (exit code 1, the error on stderr). Jobs submitted to a cluster (submitit launchers) are
    checked where they run, by the per-job check in :func:`flowdeblur.train.main`, since the submitting
    machine need not have their devices.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if "submitit" in str(config.hydra.launcher.get("_target_", "")):
            return
        try:
            check_launch(config.trainer, multirun=True)
        except LaunchError as err:
            raise SystemExit(f"{type(err).__name__}: {err}") from err
