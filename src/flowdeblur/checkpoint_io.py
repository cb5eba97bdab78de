"""Checkpoint files written atomically and read without running pickled code.

Lightning's own ``TorchCheckpointIO`` writes local files through an fsspec transaction whose temporary file lies in
the system temp dir, so the final move can fall back to a copy across file systems and a crash mid-copy leaves a
truncated ``last.ckpt``. :class:`AtomicCheckpointIO` writes a temporary file beside the target, flushes it to disk
and renames it over the target: a reader sees the old checkpoint or the new one, never a partial one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from flowdeblur.checkpoint import read_weights_only


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary file + ``os.replace``; loading goes through the weights-only loader."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """The file's content on the CPU (Lightning moves states to the device); raises CheckpointError naming the file.

        Not only training checkpoints: DDP launchers also pass weights between processes through this.
        """
        return read_weights_only(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
