"""A training step (forward, backward, non-finite check, optimizer step) never reads a device value on the host.

``.item()``, ``bool(tensor)`` and ``int(tensor)`` all dispatch ``aten._local_scalar_dense``; on CUDA each is a
host-device sync. A dispatch mode records them inside ``optimizer_step`` (which runs the closure: the
training step, backward and ``on_before_optimizer_step``, then gradient clipping and the update).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.config import compose_config
from tests.helpers import bare_trainer

# the default network (flow, heads, scan layers) at a small size, under bf16 autocast as the default trainer
STEP_RUN = [
    "data=synthetic_tiny",
    "logger=csv",
    "~callbacks.progress_bar",
    "lpips_metric=false",
    "run_test=false",
    "data.train.crop=64",
    "model.deblurrer.channels=[8,8,16,16]",
    "model.deblurrer.blocks=1",
    "trainer.precision=bf16-mixed",
    "min_free_mb=0",
]


class ScalarReads(TorchDispatchMode):
    """Records where ``aten._local_scalar_dense`` was dispatched."""

    def __init__(self) -> None:
        super().__init__()
        self.where: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func is torch.ops.aten._local_scalar_dense.default:
            self.where.append("".join(traceback.format_stack(limit=6)[:-1]))
        return func(*args, **(kwargs or {}))


def test_training_steps_read_no_device_scalar(tmp_path: Path) -> None:
    cfg = compose_config(STEP_RUN, output_dir=tmp_path)
    module = build_module(cfg)
    reads = ScalarReads()
    plain_step = module.optimizer_step

    def watched_step(*args: Any, **kwargs: Any) -> Any:
        if module.global_step == 0:  # the first step builds optimizer state; watch the steady state
            return plain_step(*args, **kwargs)
        with reads:
            return plain_step(*args, **kwargs)

    module.optimizer_step = watched_step  # type: ignore[method-assign]
    trainer = bare_trainer(2, precision="bf16-mixed", gradient_clip_val=1.0)
    trainer.fit(module, build_datamodule(cfg))
    assert trainer.global_step == 2
    assert not reads.where, f"{len(reads.where)} host reads in a training step, first at:\n{reads.where[0]}"
