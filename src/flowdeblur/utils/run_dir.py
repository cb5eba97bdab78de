"""Checks on a run dir before a training starts: fail at once, not after hours when the first checkpoint is due."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


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
        raise RunDirError(f"paths.output_dir: '{path}' has {free_mb:.0f} MB free, expected at least "
                          f"min_free_mb={min_free_mb:g} (checkpoints, logs and panels are written there)")
    return path
