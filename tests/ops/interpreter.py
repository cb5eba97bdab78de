"""What every Triton case file (``tests/ops/triton_*_cases.py``) shares: they run in a child pytest that
``tests/ops/test_scan_triton.py`` starts with ``TRITON_INTERPRET=1`` (the variable must be set before Triton is
first imported), and use blocks smaller than their tensors so that every kernel meets several blocks, the last
one partial."""

from __future__ import annotations

import importlib
import os

import pytest


def require_interpreter() -> None:
    """Skip the calling case module anywhere but under Triton's interpreter."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("needs TRITON_INTERPRET=1 before Triton is imported", allow_module_level=True)
    pytest.importorskip("triton")


def shrink_blocks(monkeypatch: pytest.MonkeyPatch, kernels: str, **sizes: int) -> None:
    """Set the block-size constants ``sizes`` of ``flowdeblur.ops.<kernels>`` for one test."""
    module = importlib.import_module(f"flowdeblur.ops.{kernels}")
    for name, size in sizes.items():
        monkeypatch.setattr(module, name, size)
