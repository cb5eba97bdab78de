"""Where a training's W&B run went, and the exact command that uploads an offline run."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from pytorch_lightning.loggers import Logger, WandbLogger


def wandb_run_dir(logger: WandbLogger) -> Path:
    """The run's local dir, ``<save_dir>/wandb/{offline-,}run-<time>-<id>`` (holding ``run-<id>.wandb``)."""
    return Path(logger.experiment.settings.sync_dir)


def sync_command(run_dir: Path) -> str:
    """The shell command that uploads the offline run stored in ``run_dir``."""
    return f"wandb sync {shlex.quote(str(run_dir))}"


def wandb_location(loggers: Iterable[Logger]) -> str | None:
    """One line: the online run's URL, or the offline run's dir and :func:`sync_command`; None without W&B."""
    for logger in loggers:
        if not isinstance(logger, WandbLogger):
            continue
        run = logger.experiment
        if not getattr(run, "offline", False) and getattr(run, "url", None):
            return f"{run.url}"
        run_dir = wandb_run_dir(logger)
        return f"{run_dir} (offline; upload it with: {sync_command(run_dir)})"
    return None
