"""Evaluation metrics synced over a real 2-process gloo group equal the single-process ones."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from flowdeblur.lit.evaluation import StageMetrics
from flowdeblur.metrics.clip_average import ClipAverage
from flowdeblur.network import NetOutput

# 5 frames in 2 clips (0: frames 0-2, 1: frames 3-4); a distributed sampler over 2 ranks pads frame 0 again.
VALUES = torch.tensor([10.0, 20.0, 30.0, 40.0, 60.0])
CLIPS = torch.tensor([0, 0, 0, 1, 1])
SHARDS = ([0, 2, 4], [1, 3, 0])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _frames(index: torch.Tensor) -> tuple[dict[str, torch.Tensor], NetOutput]:
    """A batch of 1-frame windows whose restored frame is a per-sample noise level away from the sharp one."""
    sharp = torch.rand(5, 1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    noise = torch.rand(5, 1, 3, 16, 16, generator=torch.Generator().manual_seed(1)) - 0.5
    restored = (sharp[:, 0] + VALUES[:, None, None, None] / 1000 * noise[:, 0]).clamp(0, 1)
    batch = {"sharp": sharp[index], "blurry": sharp[index], "clip": CLIPS[index], "index": index}
    return batch, NetOutput(restored=restored[index], motion=None, weights={})  # type: ignore[arg-type]


def _evaluate(index: torch.Tensor) -> dict[str, object]:
    clip_average, stage = ClipAverage(), StageMetrics()
    clip_average.update(VALUES[index], CLIPS[index], index)
    batch, out = _frames(index)
    stage.update(batch, 0, out)
    return {
        "clip_average": clip_average.compute().item(),
        "psnr": stage.compute()["psnr"].item(),
        "psnr_per_clip": stage.per_clip()["psnr"],
    }


def _rank(rank: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)  # a forked process cannot reuse its parent's OpenMP threads
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        result = _evaluate(torch.tensor(SHARDS[rank]))
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_synced_metrics_count_every_frame_once(tmp_path: Path) -> None:
    mp.start_processes(_rank, args=(_free_port(), str(tmp_path)), nprocs=2, start_method="fork")
    single = json.loads(json.dumps(_evaluate(torch.arange(5))))
    assert single["clip_average"] == (20.0 + 50.0) / 2
    assert sorted(single["psnr_per_clip"]) == ["0", "1"]
    for rank in (0, 1):
        synced = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert synced["clip_average"] == single["clip_average"]
        assert synced["psnr"] == pytest.approx(single["psnr"], abs=1e-6)
        assert synced["psnr_per_clip"] == pytest.approx(single["psnr_per_clip"], abs=1e-9)
