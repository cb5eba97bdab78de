"""The pretrained LPIPS network as a frozen constant, and the checks callers use before relying on it."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from torch import nn

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.model import LPIPSNet
from flowdeblur.metrics.lpips.weights import pretrained_state

log = logging.getLogger(__name__)
_warned: set[tuple[str, str]] = set()


def load_pretrained(net: str = "alex", weights: str | Path | None = None, fetch: bool = True) -> LPIPSNet:
    """-> :class:`LPIPSNet` with the official weights, in eval mode, frozen (``requires_grad=False``).

    Raises :class:`LPIPSUnavailableError` (no weights, with the reason) or :class:`LPIPSWeightsError` (a bad
    file, named).
    """
    state, _ = pretrained_state(net, weights, fetch)
    model = LPIPSNet(net)
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)


def lpips_available(net: str = "alex", weights: str | Path | None = None, fetch: bool = True) -> tuple[bool, str]:
    """-> (True, the backbone file used) or (False, why LPIPS-``net`` is unavailable).

    With ``fetch`` (default) a missing backbone is fetched once per process, as the metric itself would.
    """
    try:
        _, path = pretrained_state(net, weights, fetch)
    except (LPIPSUnavailableError, LPIPSWeightsError) as err:
        return False, str(err)
    return True, str(path)


def warn_unavailable(net: str, reason: str) -> None:
    """Log that LPIPS-``net`` is unavailable and why, once per process for each (net, reason)."""
    if (net, reason) not in _warned:
        _warned.add((net, reason))
        log.warning("LPIPS (%s) is unavailable and will not be reported: %s", net, reason)


def _drop_child(child: str, module: nn.Module, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    for key in [k for k in state_dict if k.startswith(f"{prefix}{child}.")]:
        del state_dict[key]


def _keep_child(child: str, module: nn.Module, state_dict: dict, prefix: str, *args: object) -> None:
    for key, value in getattr(module, child).state_dict().items():
        state_dict[f"{prefix}{child}.{key}"] = value


def exclude_from_state_dict(owner: nn.Module, child: str) -> None:
    """Keep the tensors of ``owner.<child>`` (fixed pretrained constants) out of ``owner.state_dict()``.

    Checkpoints stay small and load whether or not they were written with the child: saved copies are ignored
    and the child keeps the weights it was built with. The hooks are picklable (spawned DDP workers).
    """
    owner.register_state_dict_post_hook(functools.partial(_drop_child, child))
    owner.register_load_state_dict_pre_hook(functools.partial(_keep_child, child))
