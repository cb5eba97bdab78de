"""Library output the user cannot act on, silenced at its source: exact warning messages and log lines of
Lightning and torch, each with the reason it carries nothing for a flowdeblur user (every other warning stays)."""

from __future__ import annotations

import logging
import warnings

# (message regex, category, module regex of the code that warns): warnings.filterwarnings entries
WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # torch >= 2.10 deprecates LeafSpec; Lightning's pytree helper still builds one on every fit
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, r"pytorch_lightning\.utilities\._pytree"),
    # short epochs (data=synthetic_tiny): Lightning logs every log_every_n_steps global steps all the same
    (r"The number of training batches \(\d+\) is smaller than the logging interval", UserWarning, r"pytorch_lightning"),
    # a resume continues in its own run dir, whose checkpoints/ holds the checkpoint it resumes from
    (r"Checkpoint directory .* exists and is not empty", UserWarning, r"pytorch_lightning\.callbacks"),
    # fit stopped between validations (max_steps mid-epoch): train.py validates the final weights itself
    (r"`ModelCheckpoint\(monitor='.*'\)` could not find the monitored key", UserWarning, r"pytorch_lightning"),
)
# logger name -> starts of the lines it drops
LOG_LINES: dict[str, tuple[str, ...]] = {
    name: (
        "💡 Tip:",  # product advertisements (litlogger, litmodels)
        "GPU available: False",  # a GPU available but unused is reported
        "TPU available: False",
    )
    for name in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero")
} | {
    # trainer.save_checkpoint without weights_only: the full checkpoint is what the project writes
    "pytorch_lightning.trainer.connectors.checkpoint_connector": ("`weights_only` was not set",),
}


class DropLines(logging.Filter):
    """Drops records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def quiet_libraries() -> None:
    """Install the filters of :data:`WARNINGS` and :data:`LOG_LINES` (idempotent)."""
    for message, category, module in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    for name, prefixes in LOG_LINES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropLines) for f in logger.filters):
            logger.addFilter(DropLines(prefixes))
