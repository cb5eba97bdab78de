"""Run dirs: their names (``<root>/<task>/<date>/<time>[_<name>]``, conf/hydra/default.yaml), the ``latest`` link
of each kind, and the checks before a training starts (fail at once, not after hours when the first checkpoint is
due)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
LATEST = "latest"


class RunDirError(OSError):
    """A run dir that cannot be created or written, or whose disk is (nearly) full."""


def check_run_dir(path: str | Path, min_free_mb: float) -> Path:
    """Create ``path`` if needed, write and remove a probe file in it, and require ``min_free_mb`` free on its disk.

    Raises:
        RunDirError: naming the dir and what was expected.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path) as probe:
            probe.write(b"probe")
    except OSError as err:
        raise RunDirError(f"paths.output_dir: '{path}' is not a writable directory: {err}") from err
    free_mb = shutil.disk_usage(path).free / 2**20
    if free_mb < min_free_mb:
        raise RunDirError(
            f"paths.output_dir: '{path}' has {free_mb:.0f} MB free, expected at least "
            f"min_free_mb={min_free_mb:g} (checkpoints, logs and panels are written there)"
        )
    return path


def name_suffix(*names: str | None) -> str:
    """``"_" + <first non-empty name>`` (``/`` and spaces made ``-``), or ``""``: the tail of a run dir's name."""
    name = next((str(n) for n in names if n not in (None, "", "None", "null")), "")
    return "_" + name.replace("/", "-").replace(" ", "-") if name else ""


OmegaConf.register_new_resolver("flowdeblur.suffix", name_suffix, replace=True)


def point_latest(root: str | Path, target: str | Path) -> Path | None:
    """Make ``<root>/latest`` a relative symlink to ``target`` when ``target`` lies below ``root``.

    The link is replaced atomically (a fresh link renamed over the old one), so concurrent jobs never leave a
    missing or half-written link. Returns the link, or None when ``target`` is elsewhere (``hydra.run.dir=...``).
    """
    root, target = Path(root).absolute(), Path(target).absolute()
    if root not in target.parents:
        return None
    link = root / LATEST
    fresh = root / f".{LATEST}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, root), fresh, target_is_directory=True)
    os.replace(fresh, link)
    return link


class LatestLink(Callback):
    """Hydra callback: ``<run_root>/latest`` follows the newest single run, ``<sweep_root>/latest`` the newest
    sweep (set when a job starts, i.e. once its dir exists)."""

    def __init__(self, run_root: str, sweep_root: str) -> None:
        self.run_root = run_root
        self.sweep_root = sweep_root

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        hydra_cfg = config.hydra
        try:
            if hydra_cfg.mode == RunMode.MULTIRUN:
                point_latest(self.sweep_root, hydra_cfg.sweep.dir)
            else:
                point_latest(self.run_root, hydra_cfg.runtime.output_dir)
        except OSError as err:  # a file system without symlinks must not stop a run
            log.warning("could not update the 'latest' link: %s", err)
