"""make gpu-check: one clear line without CUDA; its parts run on the CPU at tiny sizes, each guarded."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from benchmarks import gpu_check, gpu_parts
from benchmarks.gpu_parts import Sizes
from benchmarks.step import OpCounter, build_step, train_step

TINY = Sizes(
    crop=64,
    steps=3,
    frame=(64, 96),
    tile=32,
    repeats=1,
    stream_batches=1,
    compile_steps=1,
    ddp_steps=2,
    overrides=[
        "data=synthetic_tiny",
        "~model/head",
        "~model/layer",
        "model/flow=zero",
        "model.deblurrer.channels=[8,8,16,16]",
        "model.deblurrer.blocks=1",
    ],
)
CPU = torch.device("cpu")


def test_without_cuda_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert not torch.cuda.is_available()
    assert gpu_check.main([]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: no CUDA device: ")


def test_fused_ops_match_the_reference_on_cpu() -> None:
    figures = gpu_parts.fused_ops(CPU, TINY)
    assert figures["ok"] and figures["max_err"] < 1e-4
    expected = {"scan_chunked_nchw_max_err", "scan_fast_channels_last_max_err", "cosine_correlation_max_err"}
    assert expected | {"census_max_err", "smoothness_max_err", "warp_max_err"} <= set(figures)


def test_training_part_on_cpu() -> None:
    training = gpu_parts.training(CPU, TINY)
    assert training["steps"] == 3 and training["loss_finite"] and training["samples_per_s"] > 0
    assert training["gpu_busy_share"] is None and training["peak_mem_mb"] is None  # CUDA-only figures


def test_inference_and_stream_parts_on_cpu() -> None:
    inference = gpu_parts.inference(CPU, TINY)
    assert inference["whole_fps"] > 0 and inference["strips_vs_whole_max_diff"] < 1e-2
    assert gpu_parts.data_stream(CPU, TINY)["clips_per_s"] > 0


def test_ddp_part_on_cpu() -> None:
    ddp = gpu_parts.ddp_smoke(CPU, TINY)
    assert ddp["backend"] == "gloo" and ddp["world_size"] == 1 and ddp["steps"] == 2 and ddp["ok"]


def test_a_failing_part_is_reported_and_the_rest_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(device: torch.device, sizes: Sizes) -> dict[str, Any]:
        raise RuntimeError("kernel exploded")

    monkeypatch.setitem(gpu_parts.PARTS, "fused_ops", broken)
    results = gpu_check.run_parts(CPU, ["fused_ops", "environment"], quick=True)
    assert not results["fused_ops"]["ok"] and results["fused_ops"]["error"] == "RuntimeError: kernel exploded"
    assert results["environment"]["ok"] and results["environment"]["torch"] == torch.__version__


@pytest.mark.slow
def test_compile_part_on_cpu() -> None:
    figures = gpu_parts.compile_step(CPU, TINY)
    assert figures["eager_step_ms"] > 0 and figures["compiled_step_ms"] > 0
    assert 0 < figures["compiled_ops"] < figures["eager_ops"] and figures["eager_launches"] is None


def test_step_launches_counts_the_ops_of_a_step_on_cpu() -> None:
    parts = build_step(TINY.overrides, TINY.crop, CPU)
    train_step(parts, 0)
    counted = gpu_parts.step_launches(parts, CPU, compiled=False, step=1)
    assert counted["launches"] is None  # CUDA only
    assert 0 < counted["ops_not_views"] < counted["ops"]
    with OpCounter() as again:
        train_step(parts, 2)
    assert again.total == counted["ops"]  # a step's count does not depend on the step
