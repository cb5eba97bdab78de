"""CSV logging that keeps every column of ``metrics.csv`` when several processes append to it in turn, and keeps
the file a resumed run continues.

Lightning's writer knows only the columns it has written itself. Under fork-started DDP (``trainer=ddp_cpu``)
``fit``, ``validate`` and ``test`` each run in fresh forks of the main process, whose writer has seen none of
the earlier columns; when a later stage adds a column, Lightning rewrites the file with its own columns only
and fails on the rows written before. This writer first takes the columns already in the file.
"""

from __future__ import annotations

import csv

from pytorch_lightning.loggers import CSVLogger as LightningCSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment


class MergingExperimentWriter(ExperimentWriter):
    """An :class:`ExperimentWriter` whose columns include those already in its ``metrics.csv``, which it keeps:
    a resumed run appends to its run's log (Lightning's writer deletes it, with a warning)."""

    def _check_log_dir_exists(self) -> None:
        return None

    def _record_new_keys(self) -> set[str]:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                header = next(csv.reader(file), [])
            self.metrics_keys = sorted(set(self.metrics_keys) | set(header))
        return super()._record_new_keys()


class CSVLogger(LightningCSVLogger):
    """Lightning's ``CSVLogger`` writing through :class:`MergingExperimentWriter`."""

    _experiment: MergingExperimentWriter | None

    @property
    @rank_zero_experiment
    def experiment(self) -> MergingExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = MergingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
