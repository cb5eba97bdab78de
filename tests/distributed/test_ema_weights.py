"""EMA weights (``callbacks=[default,ema]``) under fork-started DDP: validation and checkpoints use them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowdeblur.eval import evaluate
from tests.distributed.runner import TINY_RUN, read_metrics, run_entry
from tests.helpers import compose_config


def evaluate_val(ckpt: Path, out_dir: Path) -> float:
    cfg = compose_config([f"ckpt_path={ckpt}", "split=val", "lpips_metric=false"], "eval", output_dir=out_dir)
    return evaluate(cfg)["val/psnr"]


@pytest.mark.slow
def test_validation_and_checkpoint_use_the_averaged_weights(tmp_path: Path) -> None:
    run = run_entry(
        "flowdeblur.train",
        [
            *TINY_RUN,
            "trainer=ddp_cpu",
            "trainer.max_steps=4",
            "callbacks=[default,ema]",
            "callbacks.ema.decay=0.5",
            "optim.optimizer.lr=0.01",
            "optim.scheduler.warmup_steps=1",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        timeout=150,
    )
    assert run.returncode == 0, run.output[-4000:]
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    averaged, raw = ckpt["state_dict"], ckpt["current_model_state"]
    assert averaged.keys() == raw.keys()
    assert any(not torch.equal(averaged[k], raw[k]) for k in averaged if k.startswith("net."))
    validated = read_metrics(tmp_path / "run")["val/psnr"]
    assert evaluate_val(last, tmp_path / "eval") == pytest.approx(validated, abs=1e-4)
    torch.save({**ckpt, "state_dict": raw}, tmp_path / "raw.ckpt")
    assert evaluate_val(tmp_path / "raw.ckpt", tmp_path / "eval_raw") != pytest.approx(validated, abs=1e-3)
