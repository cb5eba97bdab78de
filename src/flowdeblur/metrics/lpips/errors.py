"""The two ways obtaining LPIPS weights can fail."""

from __future__ import annotations


class LPIPSUnavailableError(RuntimeError):
    """No weight file could be found or fetched; the message says where it looked and why the fetch failed."""


class LPIPSWeightsError(ValueError):
    """A weight file is unusable (unreadable, wrong keys or shapes, bad checksum); the message names it."""
