"""The four-direction gated scan in pure PyTorch, any device: the fallback of the compiled and Triton kernels.

The scan runs along dim -2 of a (..., T, W) tensor so that every step updates whole contiguous rows (horizontal
directions work on a transposed copy). The sequence is cut into chunks of ``L ~ sqrt(T)`` positions. Pass 1
loops over the ``L`` positions of all chunks at once and keeps only each chunk's end state; these ``T / L`` end
states are combined by the same scan (recursively) with the product of each chunk's gates; pass 2 loops over the
``L`` positions again, starting every chunk from the true state before it, and writes the output. The Python
loops are thus ``O(sqrt(T))`` steps long. Only multiplications by gates (``|g| <= 1``) occur, never a division by
a running product, so gates at or near ±1 and long rows stay finite. The backward is the same scan in the
opposite direction on the incoming gradient.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

DIRECTIONS = ("left_to_right", "right_to_left", "top_to_bottom", "bottom_to_top")


def scan_dim(direction: str) -> int:
    """The tensor dim a direction scans along: -1 (horizontal) or -2 (vertical)."""
    return -1 if direction in ("left_to_right", "right_to_left") else -2


def is_reverse(direction: str) -> bool:
    """Whether a direction scans from the last position to the first."""
    return direction in ("right_to_left", "bottom_to_top")


def forward(x: Tensor, gates: Tensor, directions: tuple[str, ...]) -> Tensor:
    """x (B, C, H, W), gates (B, kC, H, W) -> (B, kC, H, W) for k directions, one C-block each (contiguous).

    Vertical directions scan along dim -2 in place in the output; horizontal ones scan a transposed copy and
    are copied back.
    """
    out = torch.empty(gates.shape, dtype=x.dtype, device=x.device)
    x_t: Tensor | None = None
    a_t: Tensor | None = None
    for g, h, direction in zip(_blocks(gates, x), _blocks(out, x), directions, strict=True):
        if scan_dim(direction) == -2:
            scan_rows_(h, _rows(g), is_reverse(direction), x)
            continue
        if x_t is None or a_t is None:
            x_t = x.transpose(-1, -2).contiguous()
            a_t = torch.empty_like(x_t)
        a_t.copy_(g.transpose(-1, -2))
        scan_rows_(a_t, a_t, is_reverse(direction), x_t)  # the states replace the gates
        h.copy_(a_t.transpose(-1, -2))
    return out


def backward(
    x: Tensor, gates: Tensor, out: Tensor, grad_out: Tensor, directions: tuple[str, ...]
) -> tuple[Tensor, Tensor]:
    """The forward's x, gates, output and dL/dout -> (dL/dx, dL/dgates)."""
    grad_x = torch.zeros_like(x)
    grad_gates = torch.empty_like(gates)
    blocks = zip(
        _blocks(gates, x),
        _blocks(out, x),
        _blocks(grad_out, x),
        _blocks(grad_gates, x),
        directions,
        strict=True,
    )
    for g, h, grad_h, grad_g, direction in blocks:
        dim, reverse = scan_dim(direction), is_reverse(direction)
        # u_t = dL/dh_t + g_next * u_next ("next" in scan order): a plain scan in the opposite direction,
        # run on rows (transposed for horizontal directions)
        if dim == -2:
            u = grad_h.clone(memory_format=torch.contiguous_format)
            _adjoint_scan_(u, _rows(g), reverse)
        else:
            u_t = grad_h.transpose(-1, -2).contiguous()
            _adjoint_scan_(u_t, g.transpose(-1, -2).contiguous(), reverse)
            u = u_t.transpose(-1, -2)
        grad_x.add_(u).addcmul_(u, g, value=-1.0)
        # dL/dg_t = u_t * (h_prev - x_t)
        _state_minus_input(h, x, dim, reverse, out=grad_g)
        grad_g.mul_(u)
    return grad_x, grad_gates


def _blocks(t: Tensor, x: Tensor) -> tuple[Tensor, ...]:
    """(B, kC, H, W) -> k views (B, C, H, W)."""
    return t.split(x.shape[1], dim=1)


def _rows(t: Tensor) -> Tensor:
    """t itself if its rows are contiguous (channel slices are), else a contiguous copy."""
    return t if t.stride(-1) == 1 else t.contiguous()


def _state_minus_input(h: Tensor, x: Tensor, dim: int, reverse: bool, out: Tensor) -> None:
    """out = h_prev - x along ``dim`` (the gates' gradient over the adjoint), with h_prev = 0 at the start."""
    n = x.shape[dim]
    first, later, earlier = (n - 1, 0, 1) if reverse else (0, 1, 0)
    torch.sub(h.narrow(dim, earlier, n - 1), x.narrow(dim, later, n - 1), out=out.narrow(dim, later, n - 1))
    torch.neg(x.select(dim, first), out=out.select(dim, first))


def _adjoint_scan_(u: Tensor, a: Tensor, reverse: bool) -> None:
    """In place on u (..., T, W): the backward recurrence of a scan along dim -2 with gates a."""
    if u.shape[-2] < 2:
        return
    # the link into position t comes from the position after it in scan order and carries that one's gate
    if reverse:
        scan_rows_(u[..., 1:, :], a[..., :-1, :], False, None, u[..., 0, :])
    else:
        scan_rows_(u[..., :-1, :], a[..., 1:, :], True, None, u[..., -1, :])


def chunk_length(length: int) -> int:
    """Chunk length of the fast scan for a sequence of ``length``: about sqrt(length), within [8, 64]."""
    return max(8, min(64, math.isqrt(max(length, 1))))


def scan_rows_(
    h: Tensor, a: Tensor, reverse: bool = False, x: Tensor | None = None, init: Tensor | None = None
) -> Tensor:
    """In place on h (..., T, W): ``h_t = a_t * h_prev + s_t`` along dim -2, in scan order; returns h.

    ``s = h`` (a plain linear scan of h's contents) or, when ``x`` (..., T, W) is given, ``s = (1 - a) * x``
    (the gated scan; h's contents are then ignored and h may be ``a`` itself, overwritten by the states).
    ``a`` (..., T, W) holds the gate of the link arriving at each position; ``init`` (..., W) is the state
    before the first position in scan order (zero if None). Forward order is increasing t; ``reverse`` scans
    from the last row to the first.
    """
    out, length = h, h.shape[-2]
    chunk = chunk_length(length)
    if length < 2 * chunk:
        _loop_(h, a, reverse, x, init)
        return out
    head = length % chunk
    if head:
        # the first ``head`` rows in scan order run as one short loop and hand their last state on
        first = slice(length - head, length) if reverse else slice(0, head)
        rest = slice(0, length - head) if reverse else slice(head, length)
        h_head = h[..., first, :]
        _loop_(h_head, a[..., first, :], reverse, None if x is None else x[..., first, :], init)
        init = h_head[..., 0 if reverse else -1, :]
        h, a, x = h[..., rest, :], a[..., rest, :], None if x is None else x[..., rest, :]
    _chunked_(h, a, chunk, reverse, x, init)
    return out


def _loop_(h: Tensor, a: Tensor, reverse: bool, x: Tensor | None, init: Tensor | None) -> None:
    """The recurrence in place along dim -2 of (..., T, W), one step per row (T is short here).

    Gated form: each row is written once, ``h_t = x_t + a_t * (h_prev - x_t)``, after its gates are read, so
    ``h`` may be ``a`` itself.
    """
    length = h.shape[-2]
    prev, diff = init, None
    for t in range(length - 1, -1, -1) if reverse else range(length):
        h_t, a_t = h[..., t, :], a[..., t, :]
        if x is None:
            if prev is not None:
                h_t.addcmul_(a_t, prev)
        elif prev is None:
            torch.addcmul(x[..., t, :], a_t, x[..., t, :], value=-1.0, out=h_t)
        else:
            diff = torch.sub(prev, x[..., t, :], out=diff)
            torch.addcmul(x[..., t, :], a_t, diff, out=h_t)
        prev = h_t


def _chunked_(h: Tensor, a: Tensor, chunk: int, reverse: bool, x: Tensor | None, init: Tensor | None) -> None:
    """The recurrence in place on (..., n * chunk, W), with loops over the rows of one chunk only."""
    *lead, length, width = h.shape
    shape = (*lead, length // chunk, chunk, width)
    h_c, a_c = h.view(shape), a.view(shape)
    x_c = None if x is None else x.view(shape)
    # pass 1: the end state of every chunk started from zero, (..., n, W)
    ends = h.new_zeros(shape[:-2] + (width,))
    diff = torch.empty_like(ends)
    for t in range(chunk - 1, -1, -1) if reverse else range(chunk):
        a_t = a_c[..., t, :]
        if x_c is None:
            torch.addcmul(h_c[..., t, :], a_t, ends, out=ends)
        else:
            x_row = x_c[..., t, :]
            torch.addcmul(x_row, a_t, torch.sub(ends, x_row, out=diff), out=ends)  # x + a * (e - x)
    # true end states: a plain scan over the chunks, each linked to the previous one by its gate product
    scan_rows_(ends, a_c.prod(dim=-2), reverse, None, init)
    # pass 2: every chunk again, from the end state of the chunk before it in scan order
    starts = torch.zeros_like(ends)
    if reverse:
        starts[..., :-1, :] = ends[..., 1:, :]
    else:
        starts[..., 1:, :] = ends[..., :-1, :]
    if init is not None:
        starts[..., -1 if reverse else 0, :] = init
    _loop_(h_c, a_c, reverse, x_c, starts)
