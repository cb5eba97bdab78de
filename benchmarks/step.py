"""One training step and one inference frame outside Lightning, as the trainer runs them, for the benchmarks.

A step is what Lightning's automatic optimisation does with the default trainer config: the module's
``training_step`` under bf16 autocast, backward, the device-side non-finite flag
(:mod:`flowdeblur.lit.nonfinite`), gradient clipping by norm (``trainer.gradient_clip_val``), the optimizer
update (fused where the optimizer supports it, as :meth:`FlowDeblurModule.configure_optimizers` builds it) and
``zero_grad``. A frame is :class:`~flowdeblur.inference.tiled.TiledNet` restoring one window under
``torch.no_grad`` and bf16 autocast (what ``infer`` chooses where bf16 is native).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.common import OUT_DIR
from flowdeblur.build import build_dataset, build_module
from flowdeblur.config import compose_config
from flowdeblur.inference.tiled import TiledNet
from flowdeblur.lit.module import FlowDeblurModule, fused_if_supported
from flowdeblur.ops import correlation, scan, scan_native


class OpCounter(TorchDispatchMode):
    """Counts the ops dispatched while it is active, by name, and among them the views (``slice``, ``view``,
    ``detach``, ...: metadata only, no kernel on a GPU). A custom op counts as one: the mode is off while an op
    runs, so the ops inside it are not seen."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()
        self.views = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.ops[str(func.overloadpacket)] += 1
        self.views += bool(func.is_view)
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.ops.values())

    @property
    def kernels(self) -> int:
        """Ops that are not views."""
        return self.total - self.views


def gpu_scan_impl() -> str:
    """The scan a CUDA network runs: the fused GPU op where the ops package has one, else the chunked scan."""
    return "triton" if "triton" in scan.IMPLS else "chunked"


@contextmanager
def gpu_path() -> Iterator[list[str]]:
    """Within: ops take the branch a CUDA tensor takes (the CPU-only compiled kernels are switched off); yields
    the Hydra overrides that select the GPU scan in the network config."""
    with mock.patch.object(scan_native, "load", lambda: None), mock.patch.object(correlation, "kernel", lambda: None):
        yield [f"model.layer.impl={gpu_scan_impl()}"]


@dataclass
class StepParts:
    """What one training step needs."""

    module: FlowDeblurModule
    optimizer: torch.optim.Optimizer
    batch: dict[str, Any]
    clip: float


def build_step(overrides: list[str], crop: int, device: torch.device, batch_size: int | None = None) -> StepParts:
    """The default preset (plus ``overrides``) at ``crop``², its configured batch size unless given, on
    ``device``, channels-last as ``train`` builds it; the batch is synthetic clip 0.. of the training split."""
    cfg = compose_config([*overrides, "lpips_metric=false", f"data.train.crop={crop}"], output_dir=OUT_DIR)
    size = int(batch_size or cfg.data.batch_size)
    module = build_module(cfg).to(device)
    dataset = build_dataset(cfg.data, "train")
    samples = [dataset[i] for i in range(size)]
    batch: dict[str, Any] = {
        key: torch.stack([s[key] for s in samples]).to(device) if isinstance(samples[0][key], Tensor) else None
        for key in ("blurry", "sharp", "flow", "mask")
    }
    batch["target"] = torch.full((size,), module.net.target, device=device)
    batch["target_index"] = module.net.target
    factory = module.optimizer_factory
    optimizer = factory(module.parameters(), **fused_if_supported(factory))
    return StepParts(module, optimizer, batch, float(cfg.trainer.gradient_clip_val or 0.0))


def train_step(parts: StepParts, step: int = 0) -> Tensor:
    """One optimisation step (module docstring); returns the loss (not read back)."""
    module, optimizer = parts.module, parts.optimizer
    device_type = parts.batch["blurry"].device.type
    with torch.autocast(device_type, dtype=torch.bfloat16):
        loss = module.training_step(parts.batch, step)
    loss.backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    found = module.guard.flag(loss, grads, step, step)
    optimizer.found_inf = found  # type: ignore[attr-defined]
    if parts.clip:
        torch.nn.utils.clip_grad_norm_(module.parameters(), parts.clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def frame_restorer(overrides: list[str], device: torch.device, tile: int | None = None) -> Callable[[Tensor], Tensor]:
    """The default preset's network (random weights) as ``infer`` runs it: window (T, 3, H, W) -> (3, H, W);
    whole frames, or strips owning ``tile`` rows (equal to whole frames, :mod:`flowdeblur.inference.tiled`)."""
    cfg = compose_config([*overrides, "lpips_metric=false"], output_dir=OUT_DIR)
    module = build_module(cfg)
    base = module.net.eval().to(device)
    net = base if tile is None else TiledNet(base, tile=tile)
    target = module.net.target

    @torch.no_grad()
    def restore(window: Tensor) -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return net(window[None].to(device), target).restored[0]

    return restore


def count_ops(run: Callable[[], object]) -> OpCounter:
    """The ops ``run()`` dispatches."""
    with OpCounter() as counter:
        run()
    return counter
