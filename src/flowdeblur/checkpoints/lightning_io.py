"""Checkpoint files written atomically and read without running pickled code.

Lightning's own ``TorchCheckpointIO`` writes local files through an fsspec transaction whose temporary file lies in
the system temp dir, so the final move can fall back to a copy across file systems and a crash mid-copy leaves a
truncated ``last.ckpt``. :class:`AtomicCheckpointIO` writes through :func:`~flowdeblur.utils.files.atomic_path`
(a temporary file beside the target, flushed and renamed over it): a reader sees the old checkpoint or the new
one, never a partial one.
"""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from flowdeblur.checkpoints.load import read_weights_only
from flowdeblur.utils.files import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary file + ``os.replace``; loading goes through the weights-only loader."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """The file's content on the CPU (Lightning moves states to the device); raises CheckpointError naming the file.

        Not only training checkpoints: DDP launchers also pass weights between processes through this.
        """
        return read_weights_only(path)
