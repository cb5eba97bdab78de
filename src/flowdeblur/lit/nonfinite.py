"""Non-finite losses and gradients found on the device and resolved without a host sync per step.

Every step computes one 0-d flag on the device (loss or any gradient non-finite): a fill and one fused AMP
kernel over the gradients and the loss (its unscale multiplies them in place by exactly 1). An optimizer that
takes a ``found_inf`` tensor (``fused=True`` Adam, AdamW, SGD, Adagrad) skips the update on the device when the
flag is set: parameters and moments stay, and its step counter is not advanced. The flags are read back to the
host every :data:`CHECK_EVERY` steps and before validation, checkpoints and the end of training: then ``skip``
warns once per skipped step (naming step and batch) and ``stop`` raises :class:`FloatingPointError` naming the
first one. Under ``stop`` the flag is sticky, so every update after the first non-finite step is skipped as well:
the weights stay those from before it.

An optimizer without ``found_inf`` support falls back to reading the flag at every step (a host sync) and
dropping the gradients, so that it skips the step the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor

log = logging.getLogger("flowdeblur.lit.module")
MODES = ("skip", "stop")
CHECK_EVERY = 50


@dataclass
class _Step:
    """One optimisation step's evidence, still on the device."""

    step: int
    batch: int
    loss: Tensor
    bad: Tensor  # 1 where the loss or a gradient is non-finite


def takes_found_inf(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step`` honours an ``optimizer.found_inf`` flag (fused implementations)."""
    return bool(optimizer.defaults.get("fused"))


class NonfiniteGuard:
    """Per-step non-finite flags kept on the device; ``mode`` is ``skip`` or ``stop`` (module docstring)."""

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"nonfinite: expected one of {list(MODES)}, got '{mode}'")
        self.mode = mode
        self.skipped_steps = 0
        self._pending: list[_Step] = []
        self._stopped: Tensor | None = None
        self._one: Tensor | None = None  # the AMP kernel's inverse scale, kept on the loss's device

    def _unit(self, device: torch.device) -> Tensor:
        if self._one is None or self._one.device != device:
            self._one = torch.ones((), dtype=torch.float32, device=device)
        return self._one

    def flag(self, loss: Tensor, grads: list[Tensor], step: int, batch: int) -> Tensor:
        """0-d float32 on the loss's device: 1 to skip this step's update, else 0. Records the step."""
        loss = loss.detach()
        bad = torch.zeros((), dtype=torch.float32, device=loss.device)
        # one dtype for the kernel's single fused launch (the gradients are float32: the weights are)
        checked = loss.to(grads[0].dtype if grads else torch.float32)
        torch._amp_foreach_non_finite_check_and_unscale_([*grads, checked], bad, self._unit(loss.device))
        self._pending.append(_Step(step, batch, loss, bad))
        if self.mode == "stop":
            bad = bad if self._stopped is None else torch.maximum(bad, self._stopped)
            self._stopped = bad
        return bad

    @property
    def due(self) -> bool:
        """Whether enough steps are pending to read their flags back."""
        return len(self._pending) >= CHECK_EVERY

    def resolve(self) -> int:
        """Read the pending flags (one host sync): warn (skip) or raise (stop); returns the newly skipped count."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, []
        losses = torch.stack([p.loss.float() for p in pending]).tolist()
        flags = torch.stack([p.bad for p in pending]).tolist()
        skipped = 0
        for record, loss, bad in zip(pending, losses, flags, strict=True):
            loss_ok = loss == loss and abs(loss) != float("inf")
            if not bad:
                continue
            skipped += 1
            what = f"non-finite loss {loss}" if not loss_ok else "non-finite gradient"
            message = f"{what} at step {record.step}, batch {record.batch}"
            if self.mode == "stop":
                raise FloatingPointError(f"{message}; stopping (nonfinite=stop)")
            log.warning("%s; skipping this optimisation step (nonfinite=skip)", message)
        self.skipped_steps += skipped
        return skipped
