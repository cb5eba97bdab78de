"""Which split a run validates on, and a warning when that is the test split.

The validation metric chooses the best checkpoint and is what sweeps optimise, so it must not be computed on
test data. Every data config validates on a split disjoint from its test split by default
(:mod:`flowdeblur.data.layouts`); ``data.val_split=test`` is the explicit way to do otherwise, and the run
records the split it used (``val_split`` in metrics.json and in the W&B config).
"""

from __future__ import annotations

import warnings

from omegaconf import DictConfig

TEST_SPLITS = ("test", "reds4")


def validation_split(data: DictConfig) -> str | None:
    """The split name the ``val`` data set reads (e.g. ``val``, ``test``); None without validation data."""
    node = data.get("val")
    if not node:
        return None
    return str(node.get("split", "val"))


def check_validation_split(data: DictConfig) -> str | None:
    """:func:`validation_split`, with a warning when it is a test split."""
    split = validation_split(data)
    if split in TEST_SPLITS:
        warnings.warn(
            f"validating on the '{split}' split (data.val_split={split}): the test set chooses the "
            "best checkpoint and what sweeps optimise; its numbers are not held-out results",
            stacklevel=2,
        )
    return split
