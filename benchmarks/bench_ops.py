"""Speed and memory of the ops against their reference and their memory-bandwidth floor: 4-direction gated
scan, per-pixel filtering.

``python -m benchmarks.bench_ops [--quick] [--threads 1,2] [--repeats 7] [--devices cpu,cuda] [--impls ...]``

Cases (``--quick`` shrinks them and the repeats):
- ``scan``: :func:`flowdeblur.ops.scan.gated_scan_4` at half of 720p: x (1, 32, 360, 640), gates
  (1, 128, 360, 640); ``scan_cl``: the same in channels-last layout (what a channels-last network passes).
- ``filter``: :func:`flowdeblur.ops.filtering.per_pixel_filter`: x (1, 64, 256, 256), k = 5, a filter per
  channel.
Passes: ``fwd`` (under ``torch.no_grad``, as in inference) and ``fwd+bwd`` (forward with autograd, then the
backward of a fixed random output gradient into x and the weights).

Time: ``warmup`` untimed calls, then ``repeats`` timed ones (the slow reference scan: no warm-up and
``--reference-repeats``); median and spread (max - min) of the wall times, ``torch.cuda.synchronize`` around
each call on CUDA. The median CPU time of the process per call is recorded too (``cpu_s``): on a shared
machine it is less sensitive than the wall time to other processes taking the cores.
Peak memory: the extra bytes allocated by one call beyond its inputs (the output and gradients included).
CUDA: ``torch.cuda.max_memory_allocated`` minus the allocation before the call. CPU (Linux): the rise of the
process's resident-set high-water mark over one more call: freed heap memory is first returned to the system
(``malloc_trim``), the mark is reset (``/proc/self/clear_refs``), and ``VmHWM`` after the call minus ``VmRSS``
before it is the peak, to a page. (The profiler's allocation events give the same numbers here but take
gigabytes on the reference scan's autograd graph.) ``peak_mb`` is null where this is not available.

Floor (:mod:`benchmarks.floor`): a timed copy of 256 MB runs before every timed call, so that the copy
bandwidth is measured in the same run, with the same threads and under the same load as the op; each record
gets the bytes its op must move, the floor time (bytes / best copy bandwidth) and the ratios
``min_s / floor_s`` and ``median_s / floor_s`` (targets: scan fwd <= 2, fwd+bwd <= 3). Per thread count, the
copy bandwidth into a fresh tensor is reported beside it (page-fault cost of a new output).

Prints a table with the speed-up and memory ratio against the reference and the floor ratios, and writes
``outputs/bench/ops.json``: ``{"machine": {...}, "bandwidth": {threads: {...}}, "records": [{"op", "impl",
"pass", "shape", "device", "threads", "median_s", "min_s", "spread_s", "peak_mb", "floor": {"bytes",
"copy_gbs", "floor_s", "ratio_min", "ratio_median"}}, ...]}``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from benchmarks.common import machine
from benchmarks.floor import Copier, copy_bandwidth, floor_record
from flowdeblur.ops.filtering import per_pixel_filter
from flowdeblur.ops.scan import gated_scan_4

ROOT = Path(__file__).resolve().parents[1]
MIB = 2.0**20
TARGETS = {(op, pass_): target for op in ("scan", "scan_cl") for pass_, target in (("fwd", 2.0), ("fwd+bwd", 3.0))}


@dataclass
class Case:
    """One op at one size: ``inputs()`` builds fresh inputs, ``run(impl, *inputs)`` the output."""

    op: str
    shape: tuple[int, ...]
    extra: dict[str, Any]
    inputs: Callable[[torch.device], tuple[Tensor, ...]]
    run: Callable[..., Tensor]


def scan_case(shape: tuple[int, ...], channels_last: bool = False) -> Case:
    """``scan`` (contiguous tensors) or ``scan_cl`` (channels-last, the layout of a channels-last network)."""
    b, c, h, w = shape
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def inputs(device: torch.device) -> tuple[Tensor, ...]:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(b, c, h, w, generator=generator)
        gates = torch.tanh(torch.randn(b, 4 * c, h, w, generator=generator))
        return x.to(device, memory_format=layout), gates.to(device, memory_format=layout)

    extra = {"gates": [b, 4 * c, h, w], "directions": 4, "channels_last": channels_last}
    return Case(
        "scan_cl" if channels_last else "scan",
        shape,
        extra,
        inputs,
        lambda impl, x, gates: gated_scan_4(x, gates, impl),
    )


def filter_case(shape: tuple[int, ...], kernel_size: int) -> Case:
    b, c, h, w = shape

    def inputs(device: torch.device) -> tuple[Tensor, ...]:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(b, c, h, w, generator=generator)
        filters = torch.randn(b, c * kernel_size**2, h, w, generator=generator).softmax(dim=1)
        return x.to(device), filters.to(device)

    extra = {"filters": [b, c * kernel_size**2, h, w], "kernel_size": kernel_size}
    return Case(
        "filter", shape, extra, inputs, lambda impl, x, filters: per_pixel_filter(x, filters, kernel_size, impl)
    )


def call(case: Case, impl: str, pass_: str, inputs: tuple[Tensor, ...], grad: Tensor | None) -> Callable[[], None]:
    """A no-argument call of one pass, on inputs prepared once."""
    if pass_ == "fwd":

        def forward() -> None:
            with torch.no_grad():
                case.run(impl, *inputs)

        return forward

    def forward_backward() -> None:
        case.run(impl, *inputs).backward(grad)
        for t in inputs:
            t.grad = None

    return forward_backward


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_times(
    fn: Callable[[], None], device: torch.device, warmup: int, repeats: int, copier: Copier | None = None
) -> tuple[list[float], list[float]]:
    """Wall and process CPU seconds of ``repeats`` calls after ``warmup`` calls (a timed copy before each)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        if copier is not None:
            copier.once()
        sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        sync(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def peak_bytes(fn: Callable[[], None], device: torch.device) -> int | None:
    """Extra bytes allocated at the peak of one call (see the module docstring for the method)."""
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        sync(device)
        return torch.cuda.max_memory_allocated(device) - before
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    fn()
    return 1024 * (_status_kib("VmHWM") - before)


def _status_kib(field: str) -> int:
    """A memory field of /proc/self/status, in KiB."""
    return int(Path("/proc/self/status").read_text().split(f"{field}:", 1)[1].split()[0])


def measure(case: Case, impl: str, pass_: str, device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    inputs = case.inputs(device)
    grad = None
    if pass_ == "fwd+bwd":
        inputs = tuple(t.requires_grad_(True) for t in inputs)
        with torch.no_grad():
            out = case.run("fast", *inputs)
        grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        layout = torch.channels_last if case.extra.get("channels_last") else torch.contiguous_format
        grad = grad.to(device, memory_format=layout)  # as the next layer's gradient would come
        del out
    fn = call(case, impl, pass_, inputs, grad)
    slow = impl == "reference" and case.op == "scan"
    warmup, repeats = (0, args.reference_repeats) if slow else (args.warmup, args.repeats)
    copier = Copier(32 if args.quick else 256, device)
    times, cpu = run_times(fn, device, warmup, repeats, copier)
    peak = peak_bytes(fn, device)
    return {
        "op": case.op,
        "impl": impl,
        "pass": pass_,
        "shape": list(case.shape),
        **case.extra,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "warmup": warmup,
        "repeats": repeats,
        "median_s": statistics.median(times),
        "spread_s": max(times) - min(times),
        "min_s": min(times),
        "cpu_s": statistics.median(cpu),
        "peak_mb": None if peak is None else peak / MIB,
        "copy": copier.bandwidth(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats (a smoke run)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reference-repeats", type=int, default=2, help="repeats of the reference scan")
    parser.add_argument("--devices", default="cpu,cuda", help="devices to run on (cuda skipped if absent)")
    parser.add_argument("--ops", default="scan,scan_cl,filter")
    parser.add_argument(
        "--impls",
        default="reference,fast,chunked",
        help="comma-separated; chunked (the pure-PyTorch scan) applies to the scan only; the "
        "reference and chunked versions run with the first thread count only",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench" / "ops.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.repeats, args.reference_repeats = 1, 2, 1
    return args


def cases(args: argparse.Namespace) -> list[Case]:
    scan_shape, filter_shape = (
        ((1, 8, 90, 160), (1, 16, 64, 64)) if args.quick else ((1, 32, 360, 640), (1, 64, 256, 256))
    )
    wanted = {
        "scan": scan_case(scan_shape),
        "scan_cl": scan_case(scan_shape, channels_last=True),
        "filter": filter_case(filter_shape, 5),
    }
    return [wanted[name] for name in args.ops.split(",")]


def report(records: list[dict[str, Any]], info: dict[str, Any], bandwidth: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    title = f"flowdeblur ops on {info['cpu']}, torch {info['torch']}, load {info['loadavg']}"
    table = Table(title=title)
    for column in (
        "op",
        "pass",
        "device",
        "threads",
        "shape",
        "impl",
        "min ms",
        "median ms",
        "cpu ms",
        "peak MiB",
        "speed-up",
        "floor ms",
        "time/floor min–med",
        "target",
    ):
        table.add_column(column, justify="right")
    reference = {(r["op"], r["pass"], r["device"], r["threads"]): r for r in records if r["impl"] == "reference"}
    for r in records:
        ref = reference.get((r["op"].removesuffix("_cl"), r["pass"], r["device"], r["threads"]))
        versus = ref is not None and r is not ref
        floor = r["floor"]
        table.add_row(
            r["op"],
            r["pass"],
            r["device"],
            str(r["threads"]),
            "×".join(map(str, r["shape"])),
            r["impl"],
            f"{1e3 * r['min_s']:.1f}",
            f"{1e3 * r['median_s']:.1f}",
            f"{1e3 * r['cpu_s']:.1f}",
            "" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}",
            f"{ref['median_s'] / r['median_s']:.1f}×" if versus else "",
            f"{1e3 * floor['floor_s']:.1f}",
            f"{floor['ratio_min']:.2f}–{floor['ratio_median']:.2f}",
            _target(r),
        )
    console = Console(width=max(Console().width, 170))
    console.print(table)
    for key, bw in bandwidth.items():
        console.print(
            f"copy bandwidth {key}: best {bw['best_gbs']:.1f} GB/s, median {bw['median_gbs']:.1f}, "
            f"into a fresh tensor {bw['fresh_best_gbs']:.1f} (read + write of a "
            f"{bw['buffer_mb']:.0f} MB buffer)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "bandwidth": bandwidth, "records": records}, indent=2) + "\n")
    console.print(f"[bold]written[/bold]: {out}")


def _target(record: dict[str, Any]) -> str:
    target = TARGETS.get((record["op"], record["pass"]))
    if target is None or record["impl"] != "fast":
        return ""
    return f"≤{target:g}: " + ("yes" if record["floor"]["ratio_median"] <= target else "no")


def wanted(case: Case, impl: str, pass_: str, first_threads: bool, args: argparse.Namespace) -> bool:
    """Whether to time ``impl``: the slow baselines (``reference``, ``chunked``) with the first thread count
    only; the reference on contiguous tensors only, and its scan backward (~40 s at half of 720p) only at the
    ``--quick`` sizes."""
    if impl == "chunked":
        return case.op.startswith("scan") and first_threads
    if impl != "reference":
        return True
    if not first_threads or case.op == "scan_cl":
        return False
    return args.quick or not (case.op == "scan" and pass_ == "fwd+bwd")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    devices = [torch.device(d) for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    records, bandwidth = [], {}
    thread_counts = [int(t) for t in args.threads.split(",")]
    for threads in thread_counts:
        torch.set_num_threads(threads)
        first = threads == thread_counts[0]
        for device in devices:
            if device.type == "cuda" and not first:
                continue  # the thread count does not change a GPU kernel
            bw = copy_bandwidth(32 if args.quick else 256, device=device)
            bandwidth[f"{device.type}/{threads} threads"] = bw
            for case in cases(args):
                for pass_, impl in ((p, i) for p in ("fwd", "fwd+bwd") for i in args.impls.split(",")):
                    if wanted(case, impl, pass_, first, args):
                        record = measure(case, impl, pass_, device, args)
                        record["floor"] = floor_record(record, record["copy"])
                        records.append(record)
    report(records, machine(), bandwidth, args.out)
    return records


if __name__ == "__main__":
    main()
