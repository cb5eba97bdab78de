"""Cases of the Triton scan kernels on CPU tensors under Triton's interpreter, run by
``tests/ops/test_scan_triton.py`` in a child pytest with ``TRITON_INTERPRET=1`` (the variable must be set before
Triton is first imported); skipped anywhere else."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from flowdeblur.ops.scan import DIRECTIONS, gated_scan_4, gated_scan_reference
from tests.ops.interpreter import require_interpreter, shrink_blocks

require_interpreter()

# a small line block, so that small images need several blocks (the last one partial)
BLOCK_L = 16


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    shrink_blocks(monkeypatch, "scan_triton", BLOCK_L=BLOCK_L)


def inputs(shape: tuple[int, ...], layout: torch.memory_format, seed: int = 0) -> tuple[Tensor, Tensor]:
    """float64 x (B, C, H, W) and gates (B, 4C, H, W) in [-1, 1], in ``layout``."""
    generator = torch.Generator().manual_seed(seed)
    b, c, h, w = shape
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    gates = torch.rand(b, 4 * c, h, w, generator=generator, dtype=torch.float64) * 2 - 1
    return x.contiguous(memory_format=layout), gates.contiguous(memory_format=layout)


def reference(x: Tensor, gates: Tensor, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The column/row loop per direction (float64) and its autograd gradients."""
    x, gates = x.detach().double().requires_grad_(), gates.detach().double().requires_grad_()
    blocks = gates.split(x.shape[1], dim=1)
    out = torch.cat([gated_scan_reference(x, g, d) for g, d in zip(blocks, DIRECTIONS, strict=True)], dim=1)
    grad_x, grad_gates = torch.autograd.grad(out, (x, gates), grad_out.double())
    return out.detach(), grad_x, grad_gates


def triton_scan(x: Tensor, gates: Tensor, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    x, gates = x.detach().requires_grad_(), gates.detach().requires_grad_()
    out = gated_scan_4(x, gates, impl="triton")
    grad_x, grad_gates = torch.autograd.grad(out, (x, gates), grad_out.to(out.dtype))
    return out, grad_x, grad_gates


def assert_matches(got: tuple[Tensor, ...], want: tuple[Tensor, ...], tol: float = 0.0) -> None:
    for a, b in zip(got, want, strict=True):
        scale = b.abs().max().clamp(min=1.0)
        torch.testing.assert_close(a.double() / scale, b / scale, atol=tol or 1e-12, rtol=0)


# (B, C, H, W): odd sizes; lines per direction > BLOCK_L and not a multiple of it (38, 46, 51, 33); one row
SHAPES = [(2, 3, 5, 7), (1, 2, 19, 23), (1, 3, 17, 11), (3, 1, 1, 11)]
LAYOUTS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradients_match_the_reference(shape: tuple[int, ...], layout: str) -> None:
    x, gates = inputs(shape, LAYOUTS[layout])
    grad_out = torch.randn(gates.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    got = triton_scan(x, gates, grad_out)
    assert got[0].dtype == torch.float64 and got[0].is_contiguous(memory_format=LAYOUTS[layout])
    assert_matches(got, reference(x, gates, grad_out))


def test_each_direction_alone() -> None:
    """Gates open in one direction only (closed elsewhere): that block is the single-direction scan, the others
    pass x through exactly."""
    x, gates = inputs((1, 2, 9, 13), torch.contiguous_format)
    for d, direction in enumerate(DIRECTIONS):
        blocks = [torch.zeros_like(x) for _ in DIRECTIONS]
        blocks[d] = gates[:, :2]
        out = gated_scan_4(x, torch.cat(blocks, 1), impl="triton").split(2, dim=1)
        torch.testing.assert_close(out[d], gated_scan_reference(x, gates[:, :2], direction))
        assert all(torch.equal(o, x) for i, o in enumerate(out) if i != d)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_gates_at_minus_one_zero_and_one(layout: str) -> None:
    x, _ = inputs((1, 2, 13, 18), LAYOUTS[layout])
    generator = torch.Generator().manual_seed(3)
    gates = torch.randint(-1, 2, (1, 8, 13, 18), generator=generator).double().contiguous(memory_format=LAYOUTS[layout])
    grad_out = torch.randn(gates.shape, dtype=torch.float64, generator=generator)
    assert_matches(triton_scan(x, gates, grad_out), reference(x, gates, grad_out))
    closed = gated_scan_4(x, torch.zeros_like(gates), impl="triton")
    assert torch.equal(closed, x.repeat(1, 4, 1, 1))


def test_mixed_layouts_follow_the_gates() -> None:
    """NCHW x with channels-last gates: computed (and returned) channels-last, same values."""
    x, gates = inputs((1, 3, 7, 10), torch.contiguous_format)
    gates = gates.contiguous(memory_format=torch.channels_last)
    grad_out = torch.randn(gates.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    got = triton_scan(x, gates, grad_out)
    assert got[0].is_contiguous(memory_format=torch.channels_last)
    assert_matches(got, reference(x, gates, grad_out))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_low_precision_inputs_keep_a_float32_state(dtype: torch.dtype, layout: str) -> None:
    """float32 and bf16 inputs: a float32 output equal (to float32 accuracy) to the float64 scan of the same
    rounded inputs; gradients come back in the inputs' dtype."""
    x, gates = inputs((1, 2, 7, 37), LAYOUTS[layout])
    x, gates = x.to(dtype), (gates * 0.99).to(dtype)
    grad_out = torch.randn(gates.shape, generator=torch.Generator().manual_seed(5)).to(dtype).double()
    got = triton_scan(x, gates, grad_out)
    assert got[0].dtype == torch.float32
    assert got[1].dtype == dtype and got[2].dtype == dtype
    want = reference(x, gates, grad_out)
    assert_matches(got[:1], want[:1], tol=1e-6)
    # gradients are rounded to the inputs' dtype on the way out
    assert_matches(got[1:], want[1:], tol=1e-6 if dtype == torch.float32 else 1e-2)


def test_same_as_the_compiled_cpu_path() -> None:
    """``triton`` and ``fast`` (compiled or chunked on the CPU) give the same float32 answers."""
    x, gates = inputs((1, 4, 12, 20), torch.channels_last)
    x, gates = x.float(), gates.float()
    torch.testing.assert_close(gated_scan_4(x, gates, impl="triton"), gated_scan_4(x, gates, impl="fast"))
