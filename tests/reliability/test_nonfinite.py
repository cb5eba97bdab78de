"""A non-finite loss or gradient skips the optimisation step (nonfinite=skip) or stops the run (stop)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from flowdeblur.build import build_datamodule, build_module
from flowdeblur.config import compose_config
from flowdeblur.lit.module import FlowDeblurModule
from tests.reliability.tiny import RELIABLE_RUN


class PoisonedBatch(Dataset):
    """The training set with NaN blurry frames in every sample of batch ``batch`` (batch size 1)."""

    def __init__(self, dataset: Dataset, batch: int) -> None:
        self.dataset, self.batch = dataset, batch

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = dict(self.dataset[index % len(self.dataset)])  # type: ignore[arg-type]
        if index == self.batch:
            sample["blurry"] = torch.full_like(sample["blurry"], float("nan"))
        return sample


class Snapshots(pl.Callback):
    """Copies of the parameters after every training batch."""

    def __init__(self) -> None:
        self.after: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        self.after.append([p.detach().clone() for p in pl_module.parameters()])


def fit_with_nan(
    mode: str, steps: int, out_dir: Path, snapshots: Snapshots | None = None
) -> tuple[FlowDeblurModule, Snapshots]:
    cfg = compose_config([*RELIABLE_RUN, f"nonfinite={mode}"], output_dir=out_dir)
    module = build_module(cfg)
    loader = DataLoader(PoisonedBatch(build_datamodule(cfg).dataset("train"), batch=1), batch_size=1)
    snapshots = snapshots or Snapshots()
    trainer = pl.Trainer(
        max_steps=steps,
        callbacks=[snapshots],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        gradient_clip_val=1.0,
    )
    trainer.fit(module, loader)
    return module, snapshots


def test_skip_leaves_weights_unchanged_and_names_step_and_batch(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.WARNING, logger="flowdeblur.lit.module"):
        module, snapshots = fit_with_nan("skip", 2, tmp_path)  # step 0 trains, step 1 sees the NaN batch
    messages = [r.getMessage() for r in caplog.records if "non-finite" in r.getMessage()]
    assert messages and "step 1, batch 1" in messages[0] and "nonfinite=skip" in messages[0]
    assert all(torch.isfinite(p).all() for p in module.parameters())
    after_step_0, after_step_1 = snapshots.after
    assert all(torch.equal(a, b) for a, b in zip(after_step_0, after_step_1, strict=True))
    optimizer = module.trainer.optimizers[0]
    assert optimizer.defaults["fused"]  # the device-side skip: no host sync in the step
    assert int(optimizer.state_dict()["state"][0]["step"]) == 1  # the NaN step left no trace
    assert module.skipped_steps == 1


def test_stop_keeps_the_weights_from_before_the_first_nonfinite_step(tmp_path: Path) -> None:
    """The flags are read back after the step (at the end here): the steps in between do not update."""
    snapshots = Snapshots()
    with pytest.raises(FloatingPointError, match="at step 1, batch 1"):
        fit_with_nan("stop", 3, tmp_path, snapshots)
    after_step_0, after_step_1, after_step_2 = snapshots.after
    assert all(torch.equal(a, b) for a, b in zip(after_step_0, after_step_1, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(after_step_0, after_step_2, strict=True))


def test_stop_raises_naming_step_and_batch(tmp_path: Path) -> None:
    with pytest.raises(FloatingPointError, match=r"non-finite loss nan at step 1, batch 1; stopping"):
        fit_with_nan("stop", 3, tmp_path)


def test_unknown_mode_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nonfinite: expected one of \['skip', 'stop'\], got 'ignore'"):
        build_module(compose_config([*RELIABLE_RUN, "nonfinite=ignore"], output_dir=tmp_path))


@pytest.mark.parametrize("mode", ["skip", "stop"])
def test_nonfinite_gradient_of_a_finite_loss(mode: str, tmp_path: Path) -> None:
    module = build_module(compose_config([*RELIABLE_RUN, f"nonfinite={mode}"], output_dir=tmp_path))
    module._trainer = SimpleNamespace(global_step=5, fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_idx=7)))
    params = list(module.parameters())
    for p in params:
        p.grad = torch.zeros_like(p)
    params[3].grad[0] = float("inf")
    if mode == "stop":
        with pytest.raises(FloatingPointError, match="non-finite gradient at step 5, batch 7; stopping"):
            module.on_before_optimizer_step(torch.optim.SGD(params))
        return
    module.on_before_optimizer_step(torch.optim.SGD(params))
    assert all(p.grad is None for p in params)
    assert module.skipped_steps == 1


def test_fused_optimizer_skips_on_device_and_reports_later(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    module = build_module(compose_config([*RELIABLE_RUN, "nonfinite=skip"], output_dir=tmp_path))
    module._trainer = SimpleNamespace(global_step=5, fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_idx=7)))
    params = list(module.parameters())
    for p in params:
        p.grad = torch.ones_like(p)
    params[3].grad[0] = float("nan")
    optimizer = torch.optim.AdamW(params, fused=True)
    before = [p.detach().clone() for p in params]
    with caplog.at_level(logging.WARNING, logger="flowdeblur.lit.module"):
        module.on_before_optimizer_step(optimizer)
        optimizer.step()
        assert not caplog.records and module.skipped_steps == 0  # nothing read back yet
        module.on_train_end()
    assert all(torch.equal(a, b) for a, b in zip(before, params, strict=True))
    assert "non-finite gradient at step 5, batch 7; skipping" in caplog.records[0].getMessage()
    assert module.skipped_steps == 1
