"""Learning-rate decays of published recipes, as ``scheduler(optimizer, total_steps=...)`` factories stepped once per
optimisation step (the contract of :class:`~flowdeblur.lit.module.FlowDeblurModule`)."""

from __future__ import annotations

from collections.abc import Sequence

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def poly(optimizer: Optimizer, total_steps: int, power: float = 2.0) -> LambdaLR:
    """Caffe's ``poly`` policy: ``lr = base_lr * (1 - step / total_steps) ** power``."""
    return LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / max(1, total_steps)) ** power)


def multistep(
    optimizer: Optimizer, total_steps: int, milestones: Sequence[float] = (0.5,), gamma: float = 0.1
) -> LambdaLR:
    """``lr = base_lr * gamma ** k`` after the ``k``-th milestone; milestones are fractions of ``total_steps``."""
    if any(not 0 < m < 1 for m in milestones):
        raise ValueError(
            f"optim.scheduler.milestones: expected fractions of the training in (0, 1), got {list(milestones)}"
        )
    steps = sorted(int(m * total_steps) for m in milestones)
    return LambdaLR(optimizer, lambda step: gamma ** sum(step >= s for s in steps))
