"""Lightning's W&B logger without the ``anonymous`` argument, which wandb no longer uses and warns about."""

from __future__ import annotations

from typing import Any

from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """:class:`pytorch_lightning.loggers.WandbLogger` that does not pass ``anonymous`` to ``wandb.init``.

    Lightning always passes it (``None`` by default), and wandb ≥ 0.19 prints "The anonymous setting has no
    effect" for any value.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wandb_init.pop("anonymous", None)
