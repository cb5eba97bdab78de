"""The parts of ``make gpu-check`` (:mod:`benchmarks.gpu_check`), each a function of a device and its sizes that
returns a flat dict of figures; they run on CPU too (at tiny sizes in the tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from benchmarks.bench_data import stream_rate
from benchmarks.common import OUT_DIR
from benchmarks.step import CompiledOpCounter, OpCounter, StepParts, build_step, frame_restorer, train_step
from flowdeblur.build import build_datamodule, build_module
from flowdeblur.config import compose_config
from flowdeblur.distributed.process_group import teardown_process_group
from flowdeblur.losses.census import census_distance
from flowdeblur.losses.warping import masked_means, smoothness_loss
from flowdeblur.ops import correlation, scan
from flowdeblur.ops.triton_kernels import interpreted as triton_interpreted
from flowdeblur.ops.warp import warp


@dataclass
class Sizes:
    """How big each part runs (:data:`FULL` on a GPU, :data:`QUICK` for a smoke run)."""

    crop: int = 256
    steps: int = 200
    frame: tuple[int, int] = (720, 1280)
    tile: int = 256
    repeats: int = 5
    stream_batches: int = 20
    compile_steps: int = 5
    ddp_steps: int = 10
    overrides: list[str] = field(default_factory=list)


FULL = Sizes()
QUICK = Sizes(steps=20, frame=(360, 640), tile=128, repeats=2, stream_batches=5, compile_steps=2, ddp_steps=3)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def environment(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """torch, CUDA and Triton versions, the device's name, capability, memory and bf16 support."""
    figures: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": str(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        figures.update(
            name=props.name,
            capability=f"{props.major}.{props.minor}",
            memory_gb=round(props.total_memory / 2**30, 1),
            bf16=torch.cuda.is_bf16_supported(),
            visible_gpus=torch.cuda.device_count(),
        )
    try:
        import triton

        figures["triton"] = triton.__version__
    except ImportError:
        figures["triton"] = None
    return figures


def _values_and_grads(fn: Callable[..., Tensor], inputs: list[Tensor], grad: Tensor) -> list[Tensor]:
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    out.backward(grad)
    return [out.detach(), *(x.grad for x in leaves if x.grad is not None)]


def _max_error(a: list[Tensor], b: list[Tensor]) -> float:
    return max(float((x.float() - y.float()).abs().max()) for x, y in zip(a, b, strict=True))


def fused_ops(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """Max abs error of values and gradients against the reference: ``gated_scan_4`` (every impl but the
    reference: all four directions, odd sizes, gates up to ±1, NCHW and channels-last), the cost volumes and the
    fused flow-loss ops."""
    generator = torch.Generator().manual_seed(0)
    figures: dict[str, Any] = {}
    b, c, h, w = 2, 5, 37, 29
    x = torch.randn(b, c, h, w, generator=generator)
    gates = torch.rand(b, 4 * c, h, w, generator=generator) * 2 - 1
    gates[..., ::7] = torch.sign(gates[..., ::7])  # exactly ±1 in places
    grad = torch.randn(b, 4 * c, h, w, generator=generator)
    x, gates, grad = x.to(device), gates.to(device), grad.to(device)
    reference = _values_and_grads(lambda a, g: scan.gated_scan_4(a, g, impl="reference"), [x, gates], grad)
    runnable = device.type == "cuda" or triton_interpreted()  # Triton kernels: CUDA, or its CPU interpreter
    for impl in (i for i in scan.IMPLS if i != "reference" and (i != "triton" or runnable)):
        for layout, memory in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
            inputs = [x.contiguous(memory_format=memory), gates.contiguous(memory_format=memory)]
            got = _values_and_grads(lambda a, g, i=impl: scan.gated_scan_4(a, g, impl=i), inputs, grad)
            figures[f"scan_{impl}_{layout}_max_err"] = _max_error(got, reference)
    f1 = torch.randn(b, 16, 23, 19, generator=generator).to(device)
    f2 = torch.randn(b, 16, 23, 19, generator=generator).to(device)
    cgrad = torch.randn(b, 25, 23, 19, generator=generator).to(device)
    reference = _values_and_grads(lambda a, v: correlation.local_correlation_reference(a, v, 2), [f1, f2], cgrad)
    got = _values_and_grads(lambda a, v: correlation.local_correlation(a, v, 2), [f1, f2], cgrad)
    figures["correlation_max_err"] = _max_error(got, reference)
    std = correlation.standardised
    reference = _values_and_grads(
        lambda a, v: correlation.local_correlation_reference(std(a), std(v), 2), [f1, f2], cgrad
    )
    got = _values_and_grads(lambda a, v: correlation.cosine_correlation(a, v, 2), [f1, f2], cgrad)
    figures["cosine_correlation_max_err"] = _max_error(got, reference)
    figures |= _loss_ops(device, generator)
    figures["max_err"] = max(v for k, v in figures.items() if k.endswith("_max_err"))
    figures["ok"] = figures["max_err"] <= 1e-3
    return figures


def _loss_ops(device: torch.device, generator: torch.Generator) -> dict[str, float]:
    """The fused flow-loss ops (``impl="fast"``: Triton on CUDA) against their PyTorch versions: census distance
    (one target against two neighbours), flow smoothness, backward warping and the occlusion-masked means of two
    levels, float32, values and gradients."""
    images = [torch.rand(n, 3, 21, 26, generator=generator).to(device) for n in (1, 2)]
    flow = (3 * torch.randn(2, 2, 21, 26, generator=generator)).to(device)
    flows = (2 * torch.randn(2, 2, 2, 21, 26, generator=generator)).to(device)
    distance_grad = torch.randn(2, 1, 21, 26, generator=generator).to(device)
    warp_grad = torch.randn(2, 3, 21, 26, generator=generator).to(device)
    errors = [torch.rand(4, 1, s, s + 5, generator=generator).to(device) for s in (40, 20)]
    valids = [(torch.rand(4, 1, s, s + 5, generator=generator) < 0.9).float().to(device) for s in (40, 20)]
    quantile = torch.tensor(0.9, dtype=torch.float64, device=device)
    level_grad = torch.ones(2, device=device)
    figures = {}
    for name, run, inputs, grad in (
        ("census", lambda a, b, i: census_distance(a, b, impl=i), images, distance_grad),
        ("smoothness", lambda f, i: smoothness_loss(f, images[1], impl=i), [flows], torch.ones((), device=device)),
        ("warp", lambda image, f, i: warp(image, f, impl=i)[0], [images[1], flow], warp_grad),
        ("occlusion", lambda *e: masked_means(e[:2], valids, quantile, 3, impl=e[2]), errors, level_grad),
    ):
        reference = _values_and_grads(lambda *xs, r=run: r(*xs, "torch"), inputs, grad)
        got = _values_and_grads(lambda *xs, r=run: r(*xs, "fast"), inputs, grad)
        figures[f"{name}_max_err"] = _max_error(got, reference)
    return figures


def data_stream(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """Clips/s of the synthetic training stream rendered on ``device`` (target >= 200 at 256² on a GPU)."""
    figures = stream_rate("device", device, sizes.crop, sizes.stream_batches, sizes.overrides)
    return {k: figures[k] for k in ("crop", "batch_size", "num_workers", "clips_per_s", "target_clips_per_s")}


class StepClock(pl.Callback):
    """Wall time of the training steps after the first ``skip``, and the device-busy share of a profiled
    window of ``profile`` steps (CUDA kernel time / wall time; None on CPU)."""

    def __init__(self, skip: int, profile: int) -> None:
        self.skip, self.profile = skip, profile
        self.start = self.end = 0.0
        self.profiler: torch.profiler.profile | None = None
        self.busy_share: float | None = None
        self._window = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        step = trainer.global_step
        if step == self.skip:
            _sync(trainer.strategy.root_device)
            self.start = time.perf_counter()
        if step == self.skip and trainer.strategy.root_device.type == "cuda" and self.profile:
            activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
            self.profiler = torch.profiler.profile(activities=activities)
            self.profiler.__enter__()
            self._window = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
        device = trainer.strategy.root_device
        if self.profiler is not None and trainer.global_step == self.skip + self.profile:
            _sync(device)
            wall_us = (time.perf_counter() - self._window) * 1e6
            self.profiler.__exit__(None, None, None)
            busy_us = sum(e.self_device_time_total for e in self.profiler.key_averages())
            self.busy_share, self.profiler = busy_us / wall_us, None
        if trainer.global_step >= trainer.max_steps:
            _sync(device)
        self.end = time.perf_counter()


def _trainer(device: torch.device, steps: int, callbacks: list[pl.Callback], **kw: Any) -> pl.Trainer:
    return pl.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        precision="bf16-mixed",
        max_steps=steps,
        gradient_clip_val=1.0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        **kw,
    )


def training(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """``sizes.steps`` bf16-mixed steps of the default preset at ``crop``² through Lightning (data rendered on
    the device where it is a GPU): loss finite, samples/s after the first 10 % of steps, peak memory, busy share."""
    cfg = compose_config([*sizes.overrides, "lpips_metric=false", f"data.train.crop={sizes.crop}"], output_dir=OUT_DIR)
    module, datamodule = build_module(cfg), build_datamodule(cfg)
    skip = max(1, sizes.steps // 10)
    clock = StepClock(skip, min(10, sizes.steps - skip))
    _reset_peak(device)
    trainer = _trainer(device, sizes.steps, [clock], limit_val_batches=0)
    trainer.fit(module, datamodule)
    loss = float(trainer.callback_metrics["train/loss"])
    seconds = clock.end - clock.start
    samples = (sizes.steps - skip) * int(cfg.data.batch_size)
    return {
        "steps": trainer.global_step,
        "batch_size": int(cfg.data.batch_size),
        "crop": sizes.crop,
        "final_loss": loss,
        "loss_finite": loss == loss and abs(loss) != float("inf"),
        "skipped_steps": module.skipped_steps,
        "samples_per_s": samples / seconds,
        "step_ms": 1e3 * seconds / (sizes.steps - skip),
        "peak_mem_mb": _peak_mb(device),
        "gpu_busy_share": clock.busy_share,
        "rendered_on_device": datamodule.renders_train_on_device(),
    }


def inference(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """Frames/s and peak memory of whole frames and of strips owning ``tile`` rows; the largest difference
    between the two outputs (strips equal whole frames up to float rounding)."""
    figures: dict[str, Any] = {"frame": f"{sizes.frame[1]}x{sizes.frame[0]}"}
    window = torch.rand(3, 3, *sizes.frame, generator=torch.Generator().manual_seed(0))
    outputs = {}
    for name, tile in (("whole", None), ("strips", sizes.tile)):
        torch.manual_seed(0)
        restore = frame_restorer(sizes.overrides, device, tile)
        outputs[name] = restore(window).float().cpu()  # warm-up
        _reset_peak(device)
        _sync(device)
        start = time.perf_counter()
        for _ in range(sizes.repeats):
            restore(window)
        _sync(device)
        figures[f"{name}_fps"] = sizes.repeats / (time.perf_counter() - start)
        figures[f"{name}_peak_mem_mb"] = _peak_mb(device)
    figures["strips_vs_whole_max_diff"] = float((outputs["whole"] - outputs["strips"]).abs().max())
    return figures


def compile_step(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """Median training step time, eager and with the network under ``torch.compile``; the compile time; per step
    of each, the ops dispatched and, on CUDA, the kernel launches (:func:`step_launches`)."""
    parts = build_step(sizes.overrides, sizes.crop, device)
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    counts: dict[str, Any] = {}
    for mode in times:
        if mode == "compiled":
            parts.module.net.compile()
        for step in range(sizes.compile_steps + 1):
            _sync(device)
            start = time.perf_counter()
            train_step(parts, step)
            _sync(device)
            times[mode].append(time.perf_counter() - start)
        counted = step_launches(parts, device, compiled=mode == "compiled", step=sizes.compile_steps + 1)
        counts.update({f"{mode}_{key}": value for key, value in counted.items()})
    eager, compiled = (sorted(t[1:])[len(t[1:]) // 2] for t in times.values())
    return {
        "eager_step_ms": 1e3 * eager,
        "compiled_step_ms": 1e3 * compiled,
        "compile_s": times["compiled"][0] - eager,
        "speedup": eager / compiled,
        **counts,
    }


def step_launches(parts: StepParts, device: torch.device, compiled: bool, step: int) -> dict[str, int | None]:
    """One training step's dispatched ops and those not views (:class:`benchmarks.step.OpCounter`; compiled: the
    ops compiled code dispatches), and the next step's kernel launches as the profiler records the CUDA runtime
    and driver calls (every ``*LaunchKernel*``: PyTorch's kernels, Triton's and Inductor's; None off CUDA)."""
    counter = CompiledOpCounter() if compiled else OpCounter()
    with counter:
        train_step(parts, step)
    if device.type != "cuda":
        return {"ops": counter.total, "ops_not_views": counter.kernels, "launches": None}
    _sync(device)
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profiler:
        train_step(parts, step + 1)
        _sync(device)
    launches = sum(e.count for e in profiler.key_averages() if "LaunchKernel" in e.key)
    return {"ops": counter.total, "ops_not_views": counter.kernels, "launches": launches}


def ddp_smoke(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """A one-process DDP fit through Lightning's strategy (NCCL on a GPU, gloo on CPU) with a validation, whose
    metrics are gathered across ranks (:mod:`flowdeblur.metrics.clip_average`)."""
    from pytorch_lightning.strategies import DDPStrategy

    backend = "nccl" if device.type == "cuda" else "gloo"
    overrides = [*sizes.overrides, "lpips_metric=false", f"data.train.crop={sizes.crop}", f"data.val.crop={sizes.crop}"]
    cfg = compose_config([*overrides, "data.val.length=4"], output_dir=OUT_DIR)
    module, datamodule = build_module(cfg), build_datamodule(cfg)
    strategy = DDPStrategy(process_group_backend=backend, find_unused_parameters=False)
    trainer = _trainer(
        device, sizes.ddp_steps, [], strategy=strategy, limit_val_batches=2, val_check_interval=sizes.ddp_steps
    )
    try:
        trainer.fit(module, datamodule)
        world = trainer.world_size
        psnr = float(trainer.callback_metrics["val/psnr"])
    finally:
        teardown_process_group()
    return {"backend": backend, "world_size": world, "steps": trainer.global_step, "val_psnr": psnr, "ok": psnr == psnr}


PARTS: dict[str, Callable[[torch.device, Sizes], dict[str, Any]]] = {
    "environment": environment,
    "fused_ops": fused_ops,
    "data_stream": data_stream,
    "training": training,
    "inference": inference,
    "ddp": ddp_smoke,
    "compile": compile_step,
}
