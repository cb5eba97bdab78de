"""Test-only Lightning callbacks passed to the entry point with ``+callbacks.<name>._target_=...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl


class FailOnRank(pl.Callback):
    """Raises on global rank ``rank`` before training batch ``step`` (an injected rank failure)."""

    def __init__(self, rank: int, step: int = 0) -> None:
        self.rank, self.step = rank, step

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        if trainer.global_rank == self.rank and trainer.global_step >= self.step:
            raise RuntimeError(f"injected failure on rank {self.rank} at step {trainer.global_step}")


class RecordIndices(pl.Callback):
    """Writes the training sample indices each rank saw, per epoch, to ``<out_dir>/indices_rank<r>.json``."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.seen: dict[int, list[int]] = {}

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        self.seen.setdefault(trainer.current_epoch, []).extend(int(i) for i in batch["index"])

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"indices_rank{trainer.global_rank}.json"
        path.write_text(json.dumps({"world_size": trainer.world_size, "epochs": self.seen}))
