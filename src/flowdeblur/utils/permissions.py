"""File modes that follow the process umask, for files made by :mod:`tempfile` (always 0600, folders 0700)."""

from __future__ import annotations

import os
from pathlib import Path


def umask() -> int:
    """The process's current umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> Path:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would: 0666 (files) or 0777 (folders) less the umask."""
    path = Path(path)
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask())
    return path
