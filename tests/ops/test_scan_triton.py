"""The Triton kernels of the gated scan on the CPU, under Triton's interpreter, against the reference loop
(``tests/ops/triton_scan_cases.py``): values and gradients through ``gated_scan_4(..., impl="triton")`` (the custom
op and its registered backward), odd lengths, several line blocks with a partial last one, gates at exactly -1, 0
and 1, all four directions, NCHW, channels-last and mixed layouts, float64, float32 and bf16 inputs (float32
state).

``TRITON_INTERPRET=1`` must be set before Triton is first imported, so the cases run in a child pytest with the
variable set. The interpreter checks indexing, masks and gradients, not GPU speed or GPU rounding.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import flowdeblur.ops
from flowdeblur.ops import scan_op, triton_kernels
from flowdeblur.ops.scan import gated_scan_4

CASES = [
    Path(__file__).with_name(name)
    for name in (
        "triton_scan_cases.py",
        "triton_correlation_cases.py",
        "triton_census_cases.py",
        "triton_smoothness_cases.py",
        "triton_warp_cases.py",
        "triton_occlusion_cases.py",
    )
]


def test_kernels_under_the_interpreter() -> None:
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "", *map(str, CASES)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.parametrize("installed", [True, False])
def test_cuda_tensors_take_the_triton_kernels_where_triton_is_installed(
    installed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The choice only (no GPU here): CUDA -> Triton, or the chunked scan without Triton; ``impl="triton"``
    on a CPU tensor outside the interpreter is a clear error."""
    if installed:
        pytest.importorskip("triton")
    else:
        monkeypatch.setitem(sys.modules, "triton", None)  # import triton -> ImportError
        monkeypatch.delitem(sys.modules, "flowdeblur.ops.scan_triton", raising=False)
        monkeypatch.delattr(flowdeblur.ops, "scan_triton", raising=False)
    triton_kernels.load.cache_clear()
    try:
        assert scan_op.backend(torch.device("cuda")) == ("triton" if installed else "chunked")
        assert scan_op.backend(torch.device("cuda"), "triton") == "triton"
    finally:
        triton_kernels.load.cache_clear()
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match="impl 'triton' runs on CUDA tensors"):
        gated_scan_4(torch.zeros(1, 1, 2, 3), torch.zeros(1, 4, 2, 3), impl="triton")
