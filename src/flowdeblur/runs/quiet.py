"""Silence advertisements in library logs (real warnings stay)."""

from __future__ import annotations

import logging

TIP_PREFIX = "💡 Tip:"
LIGHTNING_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero")


def drop_tip(record: logging.LogRecord) -> bool:
    """False for Lightning's product tips (``💡 Tip: ... try installing litmodels``)."""
    return not str(record.msg).startswith(TIP_PREFIX)


def quiet_lightning_tips() -> None:
    """Filter Lightning's product tips out of its rank-zero log (idempotent)."""
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if drop_tip not in logger.filters:
            logger.addFilter(drop_tip)
