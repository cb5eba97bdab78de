"""Gated scan: the compiled and chunked scans against the column/row loop, in values and gradients; stability;
float32 state under bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from flowdeblur.ops import scan_chunked, scan_native, scan_op
from flowdeblur.ops.scan import (
    DIRECTIONS,
    chunk_length,
    gated_scan,
    gated_scan_4,
    gated_scan_reference,
    scan_rows_,
)

# shapes reaching every path of the fast scan: plain loop (short), chunks with and without a head, and
# chunk ends that are themselves scanned in chunks (200 >= 2 * 8 * 8)
SHAPES = [(2, 3, 5, 7), (1, 2, 16, 24), (2, 2, 37, 53), (1, 1, 200, 3), (1, 1, 3, 200)]
# the four-direction implementations other than the reference loop
FOUR = ["fast", "chunked"]


def inputs(shape: tuple[int, ...], gate_range: float = 1.0, seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    g = (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * gate_range
    return x, g


def loop(x: Tensor, g: Tensor, dim: int, reverse: bool) -> Tensor:
    """The recurrence written out once more, independently of the module, on one axis."""
    out = torch.zeros_like(x)
    n = x.shape[dim]
    h = torch.zeros_like(x.select(dim, 0))
    for t in reversed(range(n)) if reverse else range(n):
        h = g.select(dim, t) * h + (1 - g.select(dim, t)) * x.select(dim, t)
        out.select(dim, t).copy_(h)
    return out


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_reference_follows_the_recurrence(direction: str) -> None:
    x, g = inputs((2, 3, 6, 5))
    dim = -1 if direction in DIRECTIONS[:2] else -2
    reverse = direction in ("right_to_left", "bottom_to_top")
    torch.testing.assert_close(gated_scan_reference(x, g, direction), loop(x, g, dim, reverse))


def test_hand_computed_row() -> None:
    x = torch.tensor([1.0, 2.0, 3.0]).view(1, 1, 1, 3)
    g = torch.tensor([0.5, -0.5, 1.0]).view(1, 1, 1, 3)
    # h0 = 0.5*1 = 0.5; h1 = -0.5*0.5 + 1.5*2 = 2.75; h2 = 2.75 (gate 1 keeps the state)
    expected = torch.tensor([0.5, 2.75, 2.75]).view(1, 1, 1, 3)
    for impl in ("reference", "fast"):
        torch.testing.assert_close(gated_scan(x, g, "left_to_right", impl), expected)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_fast_matches_reference(shape: tuple[int, ...], direction: str) -> None:
    x, g = inputs(shape)
    x.requires_grad_(True)
    g.requires_grad_(True)
    fast, reference = gated_scan(x, g, direction), gated_scan_reference(x, g, direction)
    torch.testing.assert_close(fast, reference)
    weights = torch.randn_like(fast)
    fast_grads = torch.autograd.grad((fast * weights).sum(), (x, g))
    reference_grads = torch.autograd.grad((reference * weights).sum(), (x, g))
    for a, b in zip(fast_grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("impl", FOUR)
@pytest.mark.parametrize(("shape", "fast_mode"), [((2, 1, 6, 9), False), ((1, 1, 17, 19), True)])
def test_gradcheck_four_directions(shape: tuple[int, ...], fast_mode: bool, impl: str) -> None:
    """Full Jacobians on the short (plain loop) path; random projections where rows/columns are chunked."""
    x, _ = inputs(shape)
    _, gates = inputs((shape[0], 4 * shape[1], *shape[2:]), gate_range=0.99, seed=1)
    args = (x.requires_grad_(), gates.requires_grad_())
    assert torch.autograd.gradcheck(lambda a, g: gated_scan_4(a, g, impl), args, fast_mode=fast_mode)


# sizes around the compiled kernel's bands of 16 rows and 16 x 16 tiles (full tiles, partial bands and
# columns, a single row or column) and long rows
SHAPES_4 = [(2, 3, 20, 18), (1, 2, 33, 47), (1, 1, 1, 70), (1, 1, 70, 1), (2, 1, 5, 300), (1, 2, 32, 48)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("impl", FOUR)
@pytest.mark.parametrize("shape", SHAPES_4)
def test_four_directions_are_the_single_scans_in_order(shape: tuple[int, ...], impl: str, dtype: torch.dtype) -> None:
    """Values and gradients against the float64 reference (float32: the compiled kernel's vector path)."""
    b, c, h, w = shape
    x, _ = inputs(shape)
    _, gates = inputs((b, 4 * c, h, w), seed=1)
    x.requires_grad_(True)
    gates.requires_grad_(True)
    x_in, gates_in = x.detach().to(dtype).requires_grad_(True), gates.detach().to(dtype).requires_grad_(True)
    out = gated_scan_4(x_in, gates_in, impl)
    singles = [gated_scan_reference(x, g, d) for g, d in zip(gates.split(c, dim=1), DIRECTIONS, strict=True)]
    expected = torch.cat(singles, dim=1)
    tol = {} if dtype == torch.float64 else {"atol": 1e-5, "rtol": 1e-5}
    torch.testing.assert_close(out.double(), expected, **tol)
    weights = torch.randn_like(expected)
    grads = torch.autograd.grad((out * weights.to(dtype)).sum(), (x_in, gates_in))
    for a, b_ in zip(grads, torch.autograd.grad((expected * weights).sum(), (x, gates)), strict=True):
        torch.testing.assert_close(a.double(), b_, **tol)


def test_fast_uses_the_compiled_kernel_where_it_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """On CPU ``fast`` is one custom op running the compiled kernel when it loads, the chunked scan when not."""
    x, _ = inputs((1, 2, 9, 10))
    _, gates = inputs((1, 8, 9, 10), seed=1)
    out = gated_scan_4(x.requires_grad_(), gates)
    assert "flowdeblur_gated_scan_4" in type(out.grad_fn).__name__
    native = scan_native.load() is not None
    assert scan_op.backend(x.device) == ("native" if native else "chunked")
    assert scan_op.backend(x.device, "triton") == "triton"
    chunked_calls: list[tuple[int, ...]] = []
    chunked_forward = scan_chunked.forward
    monkeypatch.setattr(scan_native, "load", lambda: None)
    monkeypatch.setattr(scan_chunked, "forward", lambda x, *a: chunked_calls.append(x.shape) or chunked_forward(x, *a))
    fallback = gated_scan_4(x, gates)
    assert chunked_calls == [x.shape]
    torch.testing.assert_close(fallback, out)


def test_compiled_kernel_reuses_freed_outputs() -> None:
    """A freed output of the compiled kernel is handed out again, fully overwritten (no stale values)."""
    if scan_native.load() is None:
        pytest.skip("no compiled kernel on this machine")
    scan_native.load().release_cached()  # blocks freed by earlier tests
    x, _ = inputs((1, 2, 17, 35))
    _, gates = inputs((1, 8, 17, 35), seed=1)
    x, gates = x.float(), gates.float()
    first = gated_scan_4(x, gates)
    address = first.data_ptr()
    first.fill_(float("nan"))
    del first
    again = gated_scan_4(x, gates)
    assert again.data_ptr() == address
    expected = gated_scan_4(x.double(), gates.double(), "reference")
    torch.testing.assert_close(again.double(), expected, atol=1e-5, rtol=1e-5)
    assert scan_native.load().release_cached() == 0  # `again` holds the only block
    del again
    assert scan_native.load().release_cached() == x.numel() * 4 * 4


@pytest.mark.parametrize("impl", ["reference", *FOUR])
def test_closed_gates_pass_input_through_exactly(impl: str) -> None:
    x = torch.randn(2, 3, 40, 41)
    out = gated_scan_4(x, torch.zeros(2, 12, 40, 41), impl)
    assert torch.equal(out, x.repeat(1, 4, 1, 1))


@pytest.mark.parametrize("gate", [0.999, -0.999, 1.0, -1.0])
@pytest.mark.parametrize("direction", ["left_to_right", "bottom_to_top"])
def test_gates_near_one_match_reference(gate: float, direction: str) -> None:
    x, g = inputs((1, 2, 70, 90))
    g = gate * torch.sign(g)  # magnitude |gate| everywhere, random signs
    torch.testing.assert_close(gated_scan(x, g, direction), gated_scan_reference(x, g, direction))


def test_long_rows_stay_finite_and_accurate_in_float32() -> None:
    """Gates of magnitude 0.999..1 with random signs along 4096 pixels: no division, no blow-up."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 2, 4096, generator=generator, dtype=torch.float64)
    sign = torch.randint(0, 2, x.shape, generator=generator).to(x) * 2 - 1
    g = sign * (0.999 + 0.001 * torch.rand(x.shape, generator=generator, dtype=torch.float64))
    x.requires_grad_(True)
    fast = gated_scan(x.float(), g.float(), "left_to_right")
    fast.sum().backward()
    reference = gated_scan_reference(x.detach(), g, "left_to_right")
    assert torch.isfinite(fast).all() and torch.isfinite(x.grad).all()
    scale = reference.abs().max()
    torch.testing.assert_close(fast.double() / scale, reference / scale, atol=1e-4, rtol=0)


def test_full_gates_keep_the_zero_state() -> None:
    """g = 1 everywhere: h stays at its zero start; g = -1: h alternates sign around 2x."""
    x = torch.randn(1, 1, 1, 300)
    assert torch.equal(gated_scan(x, torch.ones_like(x), "left_to_right"), torch.zeros_like(x))
    out = gated_scan(torch.ones_like(x), -torch.ones_like(x), "left_to_right")
    expected = torch.tensor([2.0, 0.0]).repeat(150).view(1, 1, 1, 300)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("impl", FOUR)
def test_broadcast_gates_equal_materialised_ones(impl: str) -> None:
    x, _ = inputs((2, 3, 20, 30))
    value = torch.rand(1, 12, 1, 1, dtype=torch.float64) * 2 - 1
    expanded = value.expand(2, 12, 20, 30)
    torch.testing.assert_close(gated_scan_4(x, expanded, impl), gated_scan_4(x, expanded.contiguous(), impl))


# channels-last shapes: odd channel counts, 16 and 32 channels (whole cache lines: streamed stores), more
# columns than vertical strips, a single column
SHAPES_CL = [(2, 3, 20, 30), (1, 16, 9, 37), (1, 32, 5, 300), (2, 2, 7, 1)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("impl", FOUR)
@pytest.mark.parametrize("shape", SHAPES_CL)
def test_channels_last_inputs(shape: tuple[int, ...], impl: str, dtype: torch.dtype) -> None:
    """Channels-last x and gates (the layout of a channels-last network): values, gradients, layout kept."""
    b, c, h, w = shape
    x, _ = inputs(shape)
    _, gates = inputs((b, 4 * c, h, w), seed=1)
    x_cl = x.to(dtype, memory_format=torch.channels_last).requires_grad_(True)
    gates_cl = gates.to(dtype, memory_format=torch.channels_last).requires_grad_(True)
    out = gated_scan_4(x_cl, gates_cl, impl)
    x.requires_grad_(True)
    gates.requires_grad_(True)
    expected = gated_scan_4(x, gates, "reference")
    tol = {} if dtype == torch.float64 else {"atol": 1e-5, "rtol": 1e-5}
    torch.testing.assert_close(out.double(), expected, **tol)
    if impl == "fast" and scan_native.load() is not None and c > 1:
        assert out.is_contiguous(memory_format=torch.channels_last)
    weights = torch.randn_like(expected)
    grads = torch.autograd.grad((out * weights.to(dtype)).sum(), (x_cl, gates_cl))
    for a, b_ in zip(grads, torch.autograd.grad((expected * weights).sum(), (x, gates)), strict=True):
        torch.testing.assert_close(a.double(), b_, **tol)


@pytest.mark.parametrize("threads", [1, 3])
def test_channels_last_for_any_thread_count(threads: int) -> None:
    """Up to two threads per image the channels-last kernel runs two sweeps, with more it shares rows and
    column strips: both give the reference, in values and gradients."""
    x, _ = inputs((1, 16, 21, 35))
    _, gates = inputs((1, 64, 21, 35), seed=1)
    x_cl = x.to(memory_format=torch.channels_last).requires_grad_(True)
    gates_cl = gates.to(memory_format=torch.channels_last).requires_grad_(True)
    weights = torch.randn(1, 64, 21, 35, dtype=torch.float64)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = gated_scan_4(x_cl, gates_cl)
        grads = torch.autograd.grad((out * weights).sum(), (x_cl, gates_cl))
    finally:
        torch.set_num_threads(before)
    x.requires_grad_(True)
    gates.requires_grad_(True)
    expected = gated_scan_4(x, gates, "reference")
    torch.testing.assert_close(out, expected)
    for got, want in zip(grads, torch.autograd.grad((expected * weights).sum(), (x, gates)), strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("reverse", [False, True])
def test_plain_scan_with_initial_state(reverse: bool) -> None:
    """scan_rows_ without x scans h itself; ``init`` acts as one more row before the first."""
    generator = torch.Generator().manual_seed(4)
    h = torch.randn(2, 150, 3, generator=generator, dtype=torch.float64)
    a = torch.rand(2, 150, 3, generator=generator, dtype=torch.float64) * 2 - 1
    init = torch.randn(2, 3, generator=generator, dtype=torch.float64)
    expected = torch.empty_like(h)
    state = init
    for t in reversed(range(150)) if reverse else range(150):
        state = a[:, t] * state + h[:, t]
        expected[:, t] = state
    torch.testing.assert_close(scan_rows_(h.clone(), a, reverse, None, init), expected)


def test_half_precision_is_scanned_in_float32() -> None:
    x, g = inputs((1, 2, 4, 600), gate_range=0.999)
    out = gated_scan(x.bfloat16(), g.bfloat16(), "left_to_right")
    assert out.dtype == torch.float32
    expected = gated_scan_reference(x.bfloat16().double(), g.bfloat16().double(), "left_to_right")
    torch.testing.assert_close(out.double(), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("impl", FOUR)
def test_bf16_autocast_keeps_a_float32_state(impl: str) -> None:
    """Under bf16 autocast the state accumulates in float32.

    Inputs exactly representable in bf16 (so that rounding the inputs is not what is measured), gates of
    magnitude ~0.99 along 600-pixel rows (the state sums ~100 terms). A float32 state matches the float64
    reference to float32 accuracy (1e-5 relative to the largest state, ~100 ulps); a bf16 state is off by
    ~1e-2 (8-bit mantissa, checked below so that the tolerance separates the two), and the result under
    autocast is bitwise the float32 forward, as no autocast op takes part in the scan.
    """
    x, g = inputs((1, 2, 6, 600), gate_range=0.99)
    x, g = x.bfloat16().double(), g.bfloat16().double()
    _, gates = inputs((1, 8, 6, 600), gate_range=0.99, seed=1)
    gates = gates.bfloat16().double()
    expected = gated_scan_4(x, gates, "reference")
    fp32 = gated_scan_4(x.float(), gates.float(), impl)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gated_scan_4(x.bfloat16(), gates.bfloat16(), impl)
    assert mixed.dtype == torch.float32
    assert torch.equal(mixed, fp32)
    scale = expected.abs().max()
    torch.testing.assert_close(mixed.double() / scale, expected / scale, atol=1e-5, rtol=0)
    in_bf16 = gated_scan_reference(x.bfloat16(), gates[:, :2].bfloat16(), "left_to_right")
    assert ((in_bf16.double() - expected[:, :2]).abs().max() / scale).item() > 1e-3


def test_chunk_length_grows_like_sqrt() -> None:
    assert [chunk_length(n) for n in (1, 64, 100, 360, 640, 10_000)] == [8, 8, 10, 18, 25, 64]


def test_invalid_arguments() -> None:
    x = torch.zeros(1, 2, 3, 4)
    with pytest.raises(ValueError, match="direction"):
        gated_scan(x, x, "diagonal")
    with pytest.raises(ValueError, match="impl"):
        gated_scan(x, x, "left_to_right", impl="cuda")
    with pytest.raises(ValueError, match="gates"):
        gated_scan_4(x, x)
    with pytest.raises(ValueError, match="impl"):
        gated_scan_4(x, torch.zeros(1, 8, 3, 4), impl="native")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_without_avx512_matches_reference(dtype: torch.dtype) -> None:
    """The kernel built for a CPU without AVX-512 (its portable loops, ~30 s to build) in both layouts."""
    kernel = scan_native.build(("-O3", "-march=x86-64-v2", "-fopenmp"))
    if kernel is None:
        pytest.skip("no C++ compiler")
    b, c, h, w = 1, 16, 33, 48
    x, _ = inputs((b, c, h, w))
    _, gates = inputs((b, 4 * c, h, w), seed=1)
    x.requires_grad_(True)
    gates.requires_grad_(True)
    expected = gated_scan_4(x, gates, "reference")
    grad_out = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, (x, gates), grad_out)
    tol = {} if dtype == torch.float64 else {"atol": 1e-5, "rtol": 1e-5}
    for layout, forward, backward in (
        (torch.contiguous_format, kernel.forward, kernel.backward),
        (torch.channels_last, kernel.forward_nhwc, kernel.backward_nhwc),
    ):
        args = [t.detach().to(dtype, memory_format=layout) for t in (x, gates)]
        out = forward(*args)
        torch.testing.assert_close(out.double(), expected, **tol)
        grads = backward(*args, out, grad_out.to(dtype, memory_format=layout))
        for got, want in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(got.double(), want, **tol)
