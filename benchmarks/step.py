"""One training step and one inference frame outside Lightning, as the trainer runs them, for the benchmarks.

A step is what Lightning's automatic optimisation does with the default trainer config: the module's
``training_step`` under bf16 autocast, backward, the device-side non-finite flag
(:mod:`flowdeblur.lit.nonfinite`), gradient clipping by norm (``trainer.gradient_clip_val``), the optimizer
update (fused where the optimizer supports it, as :meth:`FlowDeblurModule.configure_optimizers` builds it) and
``zero_grad``. A frame is :class:`~flowdeblur.inference.tiled.TiledNet` restoring one window under
``torch.no_grad`` and bf16 autocast (what ``infer`` chooses where bf16 is native).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import ModuleType
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
from flowdeblur.ops import census, correlation, occlusion, scan, scan_native, smoothness, triton_kernels, warp

PACKAGE_DIR = "flowdeblur/"


def _source_of_frames(frames: list[tuple[str, str]]) -> str:
    """``file:function`` of the innermost frame inside the package (files relative to it), or ``other``;
    ``frames`` innermost first."""
    for filename, function in frames:
        if PACKAGE_DIR in filename and "/ops/" not in filename:
            return f"{filename.rsplit(PACKAGE_DIR, 1)[1]}:{function}"
    return "other"


def _current_source() -> str:
    """The innermost package frame of the running Python stack; in a backward pass, ``bwd <the forward op's
    source>`` from the traceback that anomaly mode recorded on the running autograd node."""
    node = torch._C._current_autograd_node()
    if node is not None:
        stack = node.metadata.get("traceback_", [])
        frames = []
        for line in reversed(stack):
            if line.lstrip().startswith("File "):
                parts = line.strip().split(", ")
                frames.append((parts[0][6:-1], parts[2].split("\n")[0][3:] if len(parts) > 2 else "?"))
        return "bwd " + _source_of_frames(frames)
    frame, frames = sys._getframe(2), []
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_code.co_name))
        frame = frame.f_back
    return _source_of_frames(frames)


def dispatched_without_mode(func: Any) -> bool:
    """Whether ``func``, seen by a dispatch mode, is dispatched without one too. Not so for a ``detach`` that
    did not come through the dispatcher's autograd layers: a tensor's shallow copy (autograd saving an op's
    output for backward, and unpacking it there) calls into an active mode as a ``detach``, and without the mode
    dispatches nothing."""
    if func is not torch.ops.aten.detach.default:
        return True
    return bool(torch._C._dispatch_tls_is_dispatch_key_excluded(torch._C.DispatchKey.ADInplaceOrView))


class OpCounter(TorchDispatchMode):
    """Counts the ops dispatched while it is active, by name, and among them the views (``slice``, ``view``,
    ``detach``, ...: metadata only, no kernel on a GPU); only those that are dispatched without the mode
    (:func:`dispatched_without_mode`). A custom op counts as one: the mode is off while an op
    runs, so the ops inside it are not seen. With ``by_source``, also by the innermost ``flowdeblur`` frame
    (``file:function``) that dispatched each op; backward ops by the forward op's frame (``bwd ...``, recorded
    by autograd's anomaly mode, which the caller turns on, see :func:`count_ops`)."""

    def __init__(self, by_source: bool = False) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.by_source = by_source
        self.views = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if not dispatched_without_mode(func):
            return func(*args, **(kwargs or {}))
        self.ops[str(func.overloadpacket)] += 1
        self.views += bool(func.is_view)
        if self.by_source:
            self.sources[_current_source()] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.ops.values())

    @property
    def kernels(self) -> int:
        """Ops that are not views."""
        return self.total - self.views


class CompiledOpCounter(OpCounter):
    """An :class:`OpCounter` that compiled code runs under (``ignore_compile_internals``: under a mode without it
    a compiled function falls back to eager). It sees the ops the compiled code dispatches (convolutions, custom
    ops, fallbacks and what runs outside the graphs), not the kernels Inductor generated."""

    @classmethod
    def ignore_compile_internals(cls) -> bool:
        return True


def gpu_scan_impl() -> str:
    """The scan a CUDA network runs: the fused GPU op where the ops package has one, else the chunked scan."""
    return "triton" if "triton" in scan.IMPLS else "chunked"


def _fused_backend(module: ModuleType) -> Any:
    """A patch making ``module.backend`` choose the Triton kernels, where the ops package has them, on any device
    (the gpu path runs under ``TRITON_INTERPRET=1``)."""
    chosen = "triton" if triton_kernels.load(module.KERNELS) is not None else "torch"
    return mock.patch.object(module, "backend", lambda tensor, impl="fast": chosen)


@contextmanager
def gpu_path() -> Iterator[list[str]]:
    """Within: ops take the branch a CUDA tensor takes (the CPU-only compiled kernels are switched off, the
    census distance, the flow smoothness, warping and the occlusion-masked means are fused ops where the ops package
    has their Triton kernels);
    yields the Hydra overrides that select the GPU scan in the network config."""
    with (
        mock.patch.object(scan_native, "load", lambda: None),
        mock.patch.object(correlation, "kernel", lambda: None),
        _fused_backend(census),
        _fused_backend(smoothness),
        _fused_backend(warp),
        _fused_backend(occlusion),
    ):
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


def count_ops(run: Callable[[], object], by_source: bool = False) -> OpCounter:
    """The ops ``run()`` dispatches; ``by_source`` also attributes them to the package's code (under anomaly
    mode without NaN checks, which records each forward op's stack for its backward)."""
    with ExitStack() as stack:
        if by_source:
            stack.enter_context(torch.autograd.detect_anomaly(check_nan=False))
        counter = stack.enter_context(OpCounter(by_source))
        run()
    return counter
