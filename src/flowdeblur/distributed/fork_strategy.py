"""DDP with fork-started ranks that stay safe after the main process has run multi-threaded ops."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.strategies import DDPStrategy


class ForkedDDPStrategy(DDPStrategy):
    """``DDPStrategy(start_method="fork")`` whose ranks run one intra-op thread each.

    A forked process cannot use the OpenMP threads of its parent: once the main process has run a
    multi-threaded op (building the model, counting its MACs, an earlier job of a multirun), a rank that runs
    more than one thread hangs at its first parallel op. Lightning gives each rank ``cores // ranks`` threads,
    so this would hang on any machine with at least twice as many cores as ranks. Like PyTorch's data-loader
    workers, each rank therefore runs single-threaded; use more ranks (``trainer.devices``, up to the number
    of cores) for more parallelism.

    Args:
        kwargs: the other arguments of :class:`~pytorch_lightning.strategies.DDPStrategy`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(start_method="fork", **kwargs)

    def setup_environment(self) -> None:
        torch.set_num_threads(1)
        super().setup_environment()
