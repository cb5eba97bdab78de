"""Compiled CPU kernels of the four-direction gated scan (``csrc/``), built on first use with the system C++
compiler, for contiguous (N, C, H, W) and for channels-last tensors.

NCHW: one pass over memory per call: every (batch, channel) plane runs its four directions one after the other,
so the plane of x (about 1 MB at half of 720p) is read from memory once and then from cache; each gate is read
and each state written exactly once, with no transposed copy in memory. Vertical directions update whole rows
(vectorised over W). Horizontal ones take bands of 16 rows, turn them into 16-wide columns in a cache-sized
buffer (16 x 16 tiles transposed in registers with AVX-512) and advance both directions at once, a vector of 16
independent states per step. Channels-last: every update is a vector over the C channels of a pixel; two sweeps
per image run in parallel, one top to bottom (left->right and down), one bottom to top (right->left and up),
each reading x once and half of every pixel's gates (see ``csrc/scan_nhwc.cpp``). Outputs go out with streaming
stores, into blocks reused from earlier calls (a bounded pool, ``FLOWDEBLUR_SCAN_POOL_MB``): a fresh allocation
costs as much as the scan in page faults. Planes are shared between the intra-op threads
(``torch.get_num_threads()``).

The backward reads x, the gates, the saved states and the output gradient once and writes both gradients once:
the adjoint ``u_t = dL/dh_t + g_next u_next`` runs against the scan direction, ``dL/dx += (1 - g) u`` and
``dL/dg_t = u_t (h_prev - x_t)``.

:func:`load` returns the compiled module (``forward(x, gates)``, ``backward(x, gates, out, grad_out)``,
``forward_nhwc``, ``backward_nhwc``, ``release_cached()``), or None where no compiler is available or
``FLOWDEBLUR_NATIVE=0``; callers then use the pure-PyTorch scan. The build (~30 s) is cached
(:mod:`flowdeblur.ops.native`).
"""

from __future__ import annotations

from types import ModuleType

from flowdeblur.ops import native

# one translation unit, in this order: memory helpers, the NCHW and channels-last kernels, the bindings
PARTS = ("scan_memory.h", "scan_nchw.cpp", "scan_nhwc.cpp", "scan_bind.cpp")


def load() -> ModuleType | None:
    """The compiled kernel module for this CPU, or None (no compiler, or ``FLOWDEBLUR_NATIVE=0``)."""
    return build(native.CFLAGS) if native.enabled() else None


def require() -> ModuleType:
    """The compiled kernel module; only called where :func:`load` has already returned it."""
    kernel = load()
    if kernel is None:
        raise RuntimeError("flowdeblur: the compiled gated scan is not available")
    return kernel


def build(cflags: tuple[str, ...]) -> ModuleType | None:
    """The kernel compiled with ``cflags`` (cached per source, flags and CPU), or None if the build fails."""
    return native.build("flowdeblur_scan", PARTS, cflags)
