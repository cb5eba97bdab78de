"""Two-process DDP (fork-started, gloo) through the Hydra entry point equals single-process evaluation.

The run logs to CSV and to an offline W&B run: under fork-started ranks the main process owns both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.distributed.runner import TINY_RUN, read_metrics, run_entry
from tests.loggers.wandb_reader import find_run_file, load_offline_run, read_records

TRAIN_LENGTH = 8  # per epoch: 4 samples per rank, 2 batches of 2


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 epochs on 2 processes; 5 val clips, so the distributed sampler pads one duplicate.

    ``OMP_NUM_THREADS=2`` keeps the main process multi-threaded, as on a machine with more cores than ranks,
    where forked ranks that run several threads would hang.
    """
    root = tmp_path_factory.mktemp("ddp_fit")
    run = run_entry(
        "flowdeblur.train",
        [
            *TINY_RUN,
            "logger=[csv,wandb]",
            "trainer=ddp_cpu",
            "trainer.max_steps=4",
            f"data.train.length={TRAIN_LENGTH}",
            "data.val.length=5",
            f"hydra.run.dir={root / 'run'}",
            "+callbacks.indices._target_=tests.distributed.probes.RecordIndices",
            f"+callbacks.indices.out_dir={root / 'indices'}",
        ],
        timeout=150,
        env={"OMP_NUM_THREADS": "2"},
    )
    assert run.returncode == 0, run.output[-4000:]
    return root


def test_fit_leaves_one_checkpoint_and_one_logger_run(ddp_run: Path) -> None:
    run_dir = ddp_run / "run"
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "completed"
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert len(names) == 2 and names[0] == "last.ckpt" and names[1].startswith("step"), names
    assert [p.relative_to(run_dir).as_posix() for p in run_dir.rglob("metrics.csv")] == ["csv/metrics.csv"]
    assert not (run_dir / "lightning_logs").exists()
    header, *rows = (run_dir / "csv" / "metrics.csv").read_text().splitlines()
    assert "val/psnr" in header.split(",") and "train/loss" in header.split(",")
    assert len(rows) >= 4


def test_main_process_finishes_the_one_wandb_run(ddp_run: Path) -> None:
    run_dir = ddp_run / "run"
    assert len(list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))) == 1
    kinds = [record.WhichOneof("record_type") for record in read_records(find_run_file(run_dir))]
    assert kinds.count("exit") == 1
    history, summary, _, _ = load_offline_run(run_dir)
    assert sum("train/loss" in row for row in history) == 4
    # two validations in fit, then the final weights (the forked workers' epoch length is not known to the main
    # process, so they compete with the best checkpoint) and the chosen checkpoint after it
    assert sum("val/psnr" in row for row in history) == 4
    assert summary["val/psnr"] == pytest.approx(read_metrics(run_dir)["val/psnr"], abs=1e-6)


def test_ranks_see_disjoint_samples_reshuffled_every_epoch(ddp_run: Path) -> None:
    seen = [json.loads((ddp_run / "indices" / f"indices_rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["world_size"] for s in seen] == [2, 2]
    assert sorted(seen[0]["epochs"]) == sorted(seen[1]["epochs"]) == ["0", "1"]
    for epoch in ("0", "1"):
        rank0, rank1 = (s["epochs"][epoch] for s in seen)
        assert len(rank0) == len(rank1) == TRAIN_LENGTH // 2
        assert not set(rank0) & set(rank1)
        assert sorted(rank0 + rank1) == list(range(TRAIN_LENGTH))
    assert seen[0]["epochs"]["0"] != seen[0]["epochs"]["1"]


def test_distributed_validation_equals_single_process_eval(ddp_run: Path) -> None:
    chosen = read_metrics(ddp_run / "run")["checkpoint/path"]  # the reported numbers are this checkpoint's
    run = run_entry(
        "flowdeblur.eval",
        [
            f"ckpt_path={chosen}",
            "split=val",
            "lpips_metric=false",
            f"hydra.run.dir={ddp_run / 'eval'}",
        ],
        timeout=90,
    )
    assert run.returncode == 0, run.output[-4000:]
    distributed, single = read_metrics(ddp_run / "run"), read_metrics(ddp_run / "eval")
    names = sorted(k for k in single if k.startswith("val/") and single[k] is not None)
    assert {"val/psnr", "val/ssim", "val/psnr_input", "val/epe"} <= set(names)
    for name in names:
        assert distributed[name] == pytest.approx(single[name], abs=1e-4), name
    clips = (ddp_run / "eval" / "per_clip.csv").read_text().splitlines()[1:]
    assert len(clips) == 5
