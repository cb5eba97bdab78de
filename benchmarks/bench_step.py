"""Launch budget and compile: dispatched ops per training step and per 720p frame; compiled vs eager step time.

``python -m benchmarks.bench_step [--quick] [--crop 256] [--frame 720x1280] [--no-compile] [--by-source]``

Ops are counted with a dispatch mode (:class:`benchmarks.step.OpCounter`: every aten op dispatched, views
included; a custom op counts as one) over one training step (:func:`benchmarks.step.train_step`: default
preset, its batch size, ``--crop``², bf16 autocast, forward, backward, non-finite flag, clipping, fused
optimizer update) after a first step that builds the optimizer state, and over one whole-frame inference of a
``--frame`` window (bf16 autocast, no autograd), the second of a stream as ``infer`` runs them (one autocast
context held across frames, so that weights are cast to bf16 once per stream,
:func:`flowdeblur.inference.precision.cached_weight_casts`). Two paths: ``cpu`` (what this CPU runs: the compiled CPU
kernels of ops/ count as one op each) and ``gpu`` (the branch a CUDA tensor takes in ops/, counted on the CPU:
the CPU-only kernels are off and the scan is the GPU one, :func:`benchmarks.step.gpu_scan_impl`);
``kernels`` ("not views") leaves out views (``select``, ``slice``, ``view``, ``detach``, ... launch nothing
on a GPU). Targets on the gpu path: <= 400 per training step, <= 300 per 720p frame; the table checks both
counts against them (all ops: host dispatches; not views: the launches the dispatcher sees).

``gpu compiled``: the gpu path's training step with the network under ``torch.compile`` (``compile=true``),
counted by a dispatch mode that compiled code runs under (:class:`benchmarks.step.CompiledOpCounter`),
with the kernels Inductor generated for it beside (they are called without the dispatcher).

Compile: the median time of ``--steps`` training steps with the network eager and under ``torch.compile``
(``FlowDeblurNet.compile()``); the compile time is the first compiled step's time minus an eager step's. On
CPU, and on a shared machine, compiled may well be slower; the numbers are what was measured.

``--by-source`` also prints, per path, where the ops of a step and a frame come from: the innermost
``flowdeblur`` frame (``file:function``) of each op, backward ops under their forward op's frame (``bwd ...``).

Each part runs in a fresh process (one thread per ``--threads``; the gpu path under ``TRITON_INTERPRET=1`` so
that a Triton scan, where the ops package has one, runs on CPU tensors). Writes ``outputs/bench/step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from torch._inductor import metrics

from benchmarks.common import write_results
from benchmarks.step import (
    CompiledOpCounter,
    OpCounter,
    build_step,
    count_ops,
    frame_restorer,
    gpu_path,
    train_step,
)
from flowdeblur.inference.precision import cached_weight_casts

TARGETS = {"train_step": 400, "frame": 300}


def count_worker(path: str, crop: int, frame: tuple[int, int], by_source: bool = False) -> list[dict[str, Any]]:
    device = torch.device("cpu")
    records = []
    with gpu_path() if path == "gpu" else nullcontext([]) as overrides:
        parts = build_step(overrides, crop, device)
        train_step(parts, 0)
        counted = count_ops(lambda: train_step(parts, 1), by_source)
        b, t = parts.batch["blurry"].shape[:2]
        records.append(_ops_record("train_step", path, f"{b}x{t} frames {crop}²", counted, overrides))
        restore = frame_restorer(overrides, device)
        window = torch.rand(parts.module.net.num_frames, 3, *frame)
        with cached_weight_casts(device, "bf16"):  # as infer streams frames: weights cast on the first
            restore(window)
            counted = count_ops(lambda: restore(window), by_source)
        records.append(_ops_record("frame", path, f"{t} frames {frame[1]}x{frame[0]}", counted, overrides))
    return records


def compiled_count_worker(crop: int) -> list[dict[str, Any]]:
    """Ops of a training step with the network compiled (``compile=true``) on the gpu path, after the compiling
    step and one more; Inductor's generated kernels are counted beside them (CPU code generation: a GPU's
    Triton code generation may fuse differently)."""
    with gpu_path() as overrides:
        parts = build_step(overrides, crop, torch.device("cpu"))
        parts.module.net.compile()
        metrics.reset()
        train_step(parts, 0)
        train_step(parts, 1)
        counter = CompiledOpCounter()
        with counter:
            train_step(parts, 2)
    b, t = parts.batch["blurry"].shape[:2]
    record = _ops_record("train_step", "gpu compiled", f"{b}x{t} frames {crop}²", counter, overrides)
    return [{**record, "inductor_kernels": metrics.generated_kernel_count}]


def _ops_record(what: str, path: str, shape: str, counted: OpCounter, overrides: list[str]) -> dict[str, Any]:
    return {
        "what": what,
        "path": path,
        "shape": shape,
        "precision": "bf16 autocast",
        "ops": counted.total,
        "kernels": counted.kernels,
        "target": TARGETS[what] if path.startswith("gpu") else None,
        "overrides": overrides,
        "top": dict(counted.ops.most_common(15)),
        **({"sources": dict(counted.sources.most_common(25))} if counted.by_source else {}),
    }


def compile_worker(crop: int, steps: int) -> dict[str, Any]:
    parts = build_step([], crop, torch.device("cpu"))
    eager = []
    for step in range(steps + 1):
        start = time.perf_counter()
        train_step(parts, step)
        eager.append(time.perf_counter() - start)
    parts.module.net.compile()
    metrics.reset()
    compiled = []
    for step in range(steps + 1):
        start = time.perf_counter()
        train_step(parts, step)
        compiled.append(time.perf_counter() - start)
    eager_s, compiled_s = statistics.median(eager[1:]), statistics.median(compiled[1:])
    return {
        "what": "compile",
        "crop": crop,
        "batch": int(parts.batch["blurry"].shape[0]),
        "threads": torch.get_num_threads(),
        "eager_step_s": eager_s,
        "compiled_step_s": compiled_s,
        "compile_s": compiled[0] - eager_s,
        "speedup": eager_s / compiled_s,
        "steps": steps,
        "inductor_kernels": metrics.generated_kernel_count,
    }


def run_worker(args: argparse.Namespace, part: str) -> list[dict[str, Any]]:
    command = [sys.executable, "-m", "benchmarks.bench_step", "--worker", part, "--crop", str(args.crop)]
    command += ["--frame", args.frame, "--steps", str(args.steps), "--threads", str(args.threads)]
    command += ["--by-source"] if args.by_source else []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    if part.startswith("gpu"):
        env["TRITON_INTERPRET"] = "1"
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        Console().print(f"[red]{part} failed[/red]: {done.stderr.strip().splitlines()[-1:]}")
        return [{"what": part, "error": done.stderr[-2000:]}]
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(records: list[dict[str, Any]]) -> None:
    table = Table(title="dispatched ops (bf16 autocast; the launch-budget targets apply to the gpu path)")
    for column in ("what", "path", "input", "ops", "not views", "target", "ops in target", "not views in target"):
        table.add_column(column, justify="right")
    for r in records:
        if "ops" not in r:
            continue
        target = r["target"]
        verdicts = ["" if target is None else ("yes" if r[key] <= target else "no") for key in ("ops", "kernels")]
        table.add_row(r["what"], r["path"], r["shape"], str(r["ops"]), str(r["kernels"]), str(target or ""), *verdicts)
    Console().print(table)
    for r in records:
        if "inductor_kernels" in r and "ops" in r:
            Console().print(
                f"{r['path']} training step: {r['ops']} dispatched ops ({r['kernels']} not views) and "
                f"{r['inductor_kernels']} kernels Inductor generated (CPU code generation), about "
                f"{r['kernels'] + r['inductor_kernels']} launches"
            )
    for r in records:
        if "sources" in r:
            by_source = Table(title=f"ops by source: {r['what']}, {r['path']} path ({r['ops']} ops)")
            by_source.add_column("ops", justify="right")
            by_source.add_column("innermost flowdeblur frame")
            for source, n in r["sources"].items():
                by_source.add_row(str(n), source)
            Console().print(by_source)
    for r in records:
        if r.get("what") == "compile" and "eager_step_s" in r:
            Console().print(
                f"training step at {r['crop']}², batch {r['batch']}, {r['threads']} threads: eager "
                f"{r['eager_step_s']:.2f} s, compiled {r['compiled_step_s']:.2f} s ({r['speedup']:.2f}x), "
                f"compile {r['compile_s']:.0f} s; Inductor generated {r['inductor_kernels']} kernels for the "
                "step's graphs (forward and backward; convolutions and custom ops are called besides)"
            )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--frame", default="720x1280", help="height x width of the inference frame")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per mode (compile)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled vs eager timing")
    parser.add_argument("--by-source", action="store_true", help="also count the ops by the code that issued them")
    parser.add_argument("--quick", action="store_true", help="128² steps, a 256x448 frame, 2 timed steps")
    parser.add_argument("--worker", choices=("cpu", "gpu", "gpu-compiled", "compile"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.crop, args.frame, args.steps = 128, "256x448", 2
    frame = tuple(int(v) for v in args.frame.split("x"))
    if args.worker:
        torch.set_num_threads(args.threads)
        if args.worker == "compile":
            out: Any = [compile_worker(args.crop, args.steps)]
        elif args.worker == "gpu-compiled":
            out = compiled_count_worker(args.crop)
        else:
            out = count_worker(args.worker, args.crop, (frame[0], frame[1]), args.by_source)
        print(json.dumps(out))
        return []
    parts = ["cpu", "gpu"] + ([] if args.no_compile else ["gpu-compiled", "compile"])
    records = [r for part in parts for r in run_worker(args, part)]
    report(records)
    print(f"wrote {write_results('step', records)}")
    return records


if __name__ == "__main__":
    main()
