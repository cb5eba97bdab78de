"""Non-finite losses and gradients found on the device and resolved without a host sync per step.

Every step computes one 0-d flag on the device (loss or any gradient non-finite; one fused AMP kernel for the
gradients). An optimizer that takes a ``found_inf`` tensor (``fused=True`` Adam, AdamW, SGD, Adagrad) skips
the update on the device when the flag is set: parameters and moments stay, and its step counter is not
advanced. The flags are read back to the host every :data:`CHECK_EVERY` steps and before validation,
checkpoints and the end of training: then ``skip`` warns once per skipped step (naming step and batch) and
``stop`` raises :class:`FloatingPointError` naming the first one. Under ``stop`` the flag is sticky, so every
update after the first non-finite step is skipped as well: the weights stay those from before it.

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
    bad_grad: Tensor


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

    def flag(self, loss: Tensor, grads: list[Tensor], step: int, batch: int) -> Tensor:
        """0-d float32 on the loss's device: 1 to skip this step's update, else 0. Records the step."""
        loss = loss.detach()
        bad_grad = torch.zeros((), dtype=torch.float32, device=loss.device)
        if grads:
            torch._amp_foreach_non_finite_check_and_unscale_(grads, bad_grad, torch.ones_like(bad_grad))
        found = torch.maximum(bad_grad, (~torch.isfinite(loss)).float())
        if self.mode == "stop":
            found = found if self._stopped is None else torch.maximum(found, self._stopped)
            self._stopped = found
        self._pending.append(_Step(step, batch, loss, bad_grad))
        return found

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
        bad_grads = torch.stack([p.bad_grad for p in pending]).tolist()
        skipped = 0
        for record, loss, bad_grad in zip(pending, losses, bad_grads, strict=True):
            loss_ok = loss == loss and abs(loss) != float("inf")
            if loss_ok and not bad_grad:
                continue
            skipped += 1
            what = f"non-finite loss {loss}" if not loss_ok else "non-finite gradient"
            message = f"{what} at step {record.step}, batch {record.batch}"
            if self.mode == "stop":
                raise FloatingPointError(f"{message}; stopping (nonfinite=stop)")
            log.warning("%s; skipping this optimisation step (nonfinite=skip)", message)
        self.skipped_steps += skipped
        return skipped
