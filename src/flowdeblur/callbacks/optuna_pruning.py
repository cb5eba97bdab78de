"""Report a training's validation metric to its Optuna trial and stop the training when the trial is pruned.

Attached by ``hparams_search=optuna``: the Optuna sweeper runs trial ``n`` as Hydra job ``n`` and the config passes
the sweeper's storage, study name and pruner. The trial itself is told its final state by the sweeper.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
import pytorch_lightning as pl
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from pytorch_lightning.trainer.states import TrainerFn

from hydra_plugins.flowdeblur_optuna.trial_attrs import PRUNED_AT_STEP, STEPS_PLANNED, STEPS_RUN

log = logging.getLogger(__name__)


class OptunaPruning(pl.Callback):
    """After every validation of ``fit``: report ``monitor`` at the global step to trial ``trial_number`` of study
    ``study_name`` in ``storage``, and stop the training (``trainer.should_stop``) when ``pruner`` prunes it.

    Also stores the trial's user attributes ``steps_planned`` (``max_steps``, else the estimated step count),
    ``steps_run`` and, when pruned, ``pruned_at_step``. Rank 0 talks to Optuna and broadcasts the decision. A
    multi-objective study is not reported to (Optuna prunes single-objective studies only); a trial that is not
    RUNNING (a job started outside its sweep) is left alone with a warning.
    """

    def __init__(
        self,
        storage: str,
        study_name: str,
        trial_number: int,
        monitor: str,
        pruner: optuna.pruners.BasePruner | None = None,
    ) -> None:
        self.storage = storage
        self.study_name = study_name
        self.trial_number = int(trial_number)
        self.monitor = monitor
        self.pruner = pruner or optuna.pruners.NopPruner()
        self.trial: optuna.Trial | None = None
        self.report_values = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != TrainerFn.FITTING or not trainer.is_global_zero or self.trial is not None:
            return
        storage = RDBStorage(self.storage)
        study_id = storage.get_study_id_from_name(self.study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.trial_number)
        if storage.get_trial(trial_id).state != TrialState.RUNNING:
            log.warning("Optuna trial %d of %r is not running: not reporting to it", self.trial_number, self.study_name)
            return
        study = optuna.load_study(study_name=self.study_name, storage=storage, pruner=self.pruner)
        self.trial = optuna.Trial(study, trial_id)
        self.report_values = len(study.directions) == 1

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.trial is not None:
            planned = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches
            self.trial.set_user_attr(STEPS_PLANNED, int(planned))

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        pruned = self._report(trainer) if self.trial is not None else False
        if trainer.strategy.broadcast(pruned, src=0):
            trainer.should_stop = True

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.trial is not None:
            self.trial.set_user_attr(STEPS_RUN, trainer.global_step)

    def _report(self, trainer: pl.Trainer) -> bool:
        """Report the monitored value; True when the trial is to be pruned."""
        assert self.trial is not None
        step = trainer.global_step
        self.trial.set_user_attr(STEPS_RUN, step)
        value: Any = trainer.callback_metrics.get(self.monitor)
        if not self.report_values:
            return False
        if value is None:
            raise ValueError(
                f"hparams_search: the pruning callback monitors {self.monitor!r}, which validation "
                f"does not log (logged: {sorted(trainer.callback_metrics)})"
            )
        self.trial.report(float(value), step)
        if not self.trial.should_prune():
            return False
        self.trial.set_user_attr(PRUNED_AT_STEP, step)
        log.info("Optuna trial %d pruned at step %d (%s = %.4g)", self.trial.number, step, self.monitor, value)
        return True
