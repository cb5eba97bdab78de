"""A progress bar that reads right when training is bounded by steps."""

from __future__ import annotations

from pytorch_lightning.callbacks import RichProgressBar


class StepProgressBar(RichProgressBar):
    """Lightning's rich progress bar; with ``max_epochs=-1`` (training bounded by ``max_steps``) the description
    reads ``Epoch 14 · step 520/900`` (the step at the epoch's start) instead of ``Epoch 14/-2``."""

    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        if trainer.max_epochs is not None and trainer.max_epochs >= 0:
            return super()._get_train_description(current_epoch)
        text = f"Epoch {current_epoch}"
        if trainer.max_steps > 0:
            text += f" · step {trainer.global_step}/{trainer.max_steps}"
        return f"{text:{len(self.validation_description)}}"
