"""W&B environment set-up that must happen before ``wandb`` is imported or a run starts."""

from __future__ import annotations

import os
import sys


def default_to_offline() -> str:
    """Set ``WANDB_MODE=offline`` unless an API key or an explicit mode is present; returns the mode in force.

    Passing ``mode="offline"`` to ``wandb.init`` alone still performs a network look-up; the environment variable
    does not. Offline runs can be uploaded later with ``wandb sync <run dir>/wandb/offline-run-*``.
    """
    if "WANDB_MODE" not in os.environ and not os.environ.get("WANDB_API_KEY"):
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    return os.environ.get("WANDB_MODE", "online")


def finish_wandb_run(exit_code: int = 0) -> None:
    """Finish the active W&B run of this process, if any, so that every training leaves one finished run
    (``exit_code`` 1 marks it failed)."""
    if "wandb" not in sys.modules:
        return
    import wandb

    if wandb.run is not None:
        wandb.finish(exit_code=exit_code)
