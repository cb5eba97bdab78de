"""Ending the distributed process group of a training process."""

from __future__ import annotations

import torch.distributed as dist


def teardown_process_group() -> None:
    """Destroy this process's default process group, if it has one.

    Lightning keeps the group alive across ``fit``, ``validate`` and ``test`` and destroys only NCCL groups
    at exit; a gloo group left open can abort the process at exit. Fork-started ranks end with their
    processes, so under ``trainer=ddp_cpu`` the main process has no group and this does nothing.
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
