"""Trainer set-ups that cannot run are refused with one clear error, before any work."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from flowdeblur.distributed.launch import LaunchCheck, LaunchError, available_cores, check_launch
from tests.distributed.runner import TINY_RUN
from tests.helpers import CONF_DIR, compose_config

CPU_DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true"]
SLURM_TASK = {
    "SLURM_NTASKS": "2",
    "SLURM_NTASKS_PER_NODE": "2",
    "SLURM_JOB_NAME": "train",
    "SLURM_JOB_ID": "7",
    "SLURM_NODELIST": "node1",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
}
TORCHRUN_RANK = {
    "TORCHELASTIC_RUN_ID": "run",
    "RANK": "0",
    "LOCAL_RANK": "0",
    "WORLD_SIZE": "2",
    "GROUP_RANK": "0",
    "LOCAL_WORLD_SIZE": "2",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
}


def trainer_cfg(*overrides: str) -> DictConfig:
    return compose_config([*TINY_RUN, *overrides]).trainer


def check(*overrides: str, multirun: bool = False) -> None:
    check_launch(trainer_cfg(*overrides), multirun=multirun)


@pytest.mark.parametrize("overrides", [[], ["trainer=ddp_cpu"], CPU_DDP], ids=["cpu", "ddp_cpu", "ddp_popen"])
def test_single_runs_pass(overrides: list[str]) -> None:
    check(*overrides)


@pytest.mark.parametrize("overrides", [[], ["trainer=ddp_cpu"]], ids=["cpu", "ddp_cpu"])
def test_multirun_with_one_device_or_forked_ranks_passes(overrides: list[str]) -> None:
    check(*overrides, multirun=True)


def test_multirun_with_reexecuted_ranks_is_refused() -> None:
    with pytest.raises(LaunchError, match="replay the whole sweep in every rank.*trainer=ddp_cpu"):
        check(*CPU_DDP, multirun=True)


def test_multirun_under_slurm_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SLURM_TASK.items():
        monkeypatch.setenv(name, value)
    check(*CPU_DDP, multirun=True)


def test_multirun_under_torchrun_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TORCHRUN_RANK.items():
        monkeypatch.setenv(name, value)
    check(*CPU_DDP)
    with pytest.raises(LaunchError, match="under torchrun runs the whole sweep"):
        check(*CPU_DDP, multirun=True)


@pytest.mark.parametrize("overrides", [["trainer=ddp_cpu"], CPU_DDP], ids=["ddp_cpu", "ddp_popen"])
def test_ddp_with_one_process_is_refused(overrides: list[str]) -> None:
    with pytest.raises(LaunchError, match=r"single process \(trainer.devices x trainer.num_nodes = 1 x 1\)"):
        check(*overrides, "trainer.devices=1")


def test_more_cpu_processes_than_cores_is_refused() -> None:
    cores = available_cores()
    with pytest.raises(LaunchError, match=f"devices={cores + 1}: more CPU processes than the {cores} CPU"):
        check("trainer=ddp_cpu", f"trainer.devices={cores + 1}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without GPUs")
@pytest.mark.parametrize("trainer", ["gpu", "ddp"])
def test_gpus_on_a_machine_without_them_are_refused(trainer: str) -> None:
    with pytest.raises(LaunchError, match="accelerator=gpu.*cannot run on this machine"):
        check(f"trainer={trainer}")


def multirun_config(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=[*TINY_RUN, *overrides], return_hydra_config=True)


def test_hydra_callback_ends_a_refused_multirun_before_its_jobs() -> None:
    with pytest.raises(SystemExit, match="LaunchError: .*replay the whole sweep"):
        LaunchCheck().on_multirun_start(config=multirun_config(*CPU_DDP))
    LaunchCheck().on_multirun_start(config=multirun_config("trainer=ddp_cpu"))


def test_hydra_callback_leaves_slurm_jobs_to_the_nodes_they_run_on() -> None:
    config = multirun_config("launcher=submitit_slurm", "trainer=ddp", "trainer.devices=4")
    assert config.hydra.launcher._target_.endswith("SlurmLauncher")
    LaunchCheck().on_multirun_start(config=config)
