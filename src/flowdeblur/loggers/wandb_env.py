"""W&B environment set-up that must happen before ``wandb`` is imported or a run starts."""

from __future__ import annotations

import os
import socket
import sys
import warnings
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.wandb.ai"
PROBE_TIMEOUT_S = 3.0


def default_to_offline() -> str:
    """Set ``WANDB_MODE=offline`` unless an API key or an explicit mode is present; returns the mode in force.

    An online mode whose server does not accept a connection within a few seconds falls back to offline with a
    warning, so that a training never hangs on an unreachable server.

    Passing ``mode="offline"`` to ``wandb.init`` alone still performs a network look-up; the environment variable
    does not. Offline runs can be uploaded later with ``wandb sync <run dir>/wandb/offline-run-*``.
    """
    if "WANDB_MODE" not in os.environ and not os.environ.get("WANDB_API_KEY"):
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    if os.environ.get("WANDB_MODE", "online") == "online" and not server_reachable():
        warnings.warn(
            f"W&B server {base_url()} is unreachable: logging offline instead "
            "(upload later with `wandb sync <run dir>/wandb/offline-run-*`)",
            stacklevel=2,
        )
        os.environ["WANDB_MODE"] = "offline"
    return os.environ.get("WANDB_MODE", "online")


def base_url() -> str:
    """The W&B server this process talks to (``WANDB_BASE_URL``, default the public cloud)."""
    return os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL


def server_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the W&B server opens within ``timeout_s`` (no request is sent)."""
    url = urlsplit(base_url())
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def finish_wandb_run(exit_code: int = 0) -> None:
    """Finish the active W&B run of this process, if any, so that every training leaves one finished run
    (``exit_code`` 1 marks it failed)."""
    if "wandb" not in sys.modules:
        return
    import wandb

    if wandb.run is not None:
        wandb.finish(exit_code=exit_code)
