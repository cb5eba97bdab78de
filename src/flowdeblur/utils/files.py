"""Files a reader never sees half-written, with the modes a plain ``open`` would give.

Every file the project writes for others to read (checkpoints, exports, metrics, reports, figures, converted
LPIPS weights) goes through :func:`atomic_path`: write to a temporary sibling, flush it to disk, give it the
umask's mode, rename it over the target. A reader sees the old file or the new one; an error leaves no file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class AtomicFile:
    """A temporary sibling ``tmp`` of ``path`` (named ``.<name>.*<suffix>``): :meth:`commit` flushes it to disk,
    gives it the umask's mode and renames it over ``path``; :meth:`abort` removes it."""

    def __init__(self, path: str | Path, suffix: str = ".tmp") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=suffix)
        os.close(fd)
        self.tmp = Path(name)

    def commit(self) -> Path:
        _fsync(self.tmp)
        os.replace(apply_umask(self.tmp), self.path)
        return self.path

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path``, on error it is removed."""
    file = AtomicFile(path, suffix)
    try:
        yield file.tmp
        file.commit()
    finally:
        file.abort()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Atomically write ``data`` as indented JSON (NaN written as null)."""
    return write_text_atomic(path, json.dumps(_finite(data), indent=2, sort_keys=True) + "\n")


def umask() -> int:
    """The process's current umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> Path:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would: 0666 (files) or 0777 (folders) less the umask
    (:mod:`tempfile` makes files 0600 and folders 0700)."""
    path = Path(path)
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask())
    return path


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finite(data: Any) -> Any:
    if isinstance(data, float) and data != data:
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data
