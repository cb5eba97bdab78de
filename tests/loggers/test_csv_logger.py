"""The CSV logger keeps the rows a run's earlier part wrote (a resume continues its metrics.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

from flowdeblur.loggers.csv_logger import CSVLogger


def test_a_resumed_run_appends_to_its_metrics_csv(tmp_path: Path) -> None:
    first = CSVLogger(save_dir=str(tmp_path), name="csv", version="")
    first.log_metrics({"train/loss": 0.5}, step=1)
    first.save()
    resumed = CSVLogger(save_dir=str(tmp_path), name="csv", version="")
    resumed.log_metrics({"train/loss": 0.25, "val/psnr": 27.0}, step=2)
    resumed.save()
    with open(tmp_path / "csv" / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["step"], r["train/loss"], r["val/psnr"]) for r in rows] == [("1", "0.5", ""), ("2", "0.25", "27.0")]
