"""Compiled CPU kernel of the four-direction gated scan, built on first use with the system C++ compiler.

One pass over memory per call: for every (batch, channel) plane the four directions run one after the other,
so the plane of x (H*W values, about 1 MB at half of 720p) is read from memory once and then from cache, each
gate and each state is read or written exactly once, and no transposed copy is made. Vertical directions
update whole rows (vectorised over W); horizontal ones advance 16 rows at a time, one column per step, so
16 independent recurrences hide the latency of each update. Planes are shared between the intra-op threads
(``torch.get_num_threads()``).

The backward reads x, the gates, the saved states and the output gradient once and writes both gradients
once: the adjoint ``u_t = dL/dh_t + g_next u_next`` runs against the scan direction, ``dL/dx += (1 - g) u``
and ``dL/dg_t = u_t (h_prev - x_t)``.

:func:`load` returns the compiled module, or None where no compiler is available (or
``FLOWDEBLUR_NATIVE=0``); callers then use the pure-PyTorch scan. The build is cached by torch under
``~/.cache/torch_extensions`` (``TORCH_EXTENSIONS_DIR``), keyed by the source, the flags and the CPU's instruction set.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
from types import ModuleType

log = logging.getLogger(__name__)
CFLAGS = ["-O3", "-march=native"]

SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cstdint>
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace {
constexpr int64_t K = 16;  // rows advanced together by a horizontal scan

// A fresh output of hundreds of MB is first touched here: ask Linux for 2 MB pages on it, so that the first
// write costs one page fault per 2 MB instead of one per 4 kB (without this, faulting the output in takes
// longer than the whole scan). A no-op where unsupported.
torch::Tensor empty_huge(const torch::Tensor& like) {
  auto t = torch::empty_like(like);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t huge = uintptr_t(1) << 21;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data_ptr()) + huge - 1) & ~(huge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data_ptr()) + t.nbytes()) & ~(huge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
  return t;
}

// h_t = x_t + g_t (h_prev - x_t) down (rev = false) or up the rows of one plane (H, W)
template <typename T>
void vertical(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ h, int64_t H, int64_t W, bool rev) {
  for (int64_t i = 0; i < H; ++i) {
    const int64_t r = rev ? H - 1 - i : i;
    const T* xr = x + r * W; const T* gr = g + r * W; T* hr = h + r * W;
    if (i == 0) {
      for (int64_t w = 0; w < W; ++w) hr[w] = xr[w] - gr[w] * xr[w];
    } else {
      const T* hp = h + (rev ? r + 1 : r - 1) * W;
      for (int64_t w = 0; w < W; ++w) hr[w] = xr[w] + gr[w] * (hp[w] - xr[w]);
    }
  }
}

// the same along the columns (rev = false: left to right): K rows at a time, K columns per tile, the tile
// transposed into a local buffer so that each step updates K independent states with one vector operation
template <typename T>
void horizontal(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ h, int64_t H, int64_t W,
                bool rev) {
  alignas(64) T xt[K][K], gt[K][K], ht[K][K];
  for (int64_t r0 = 0; r0 < H; r0 += K) {
    const int64_t n = std::min(K, H - r0);
    alignas(64) T s[K] = {};
    for (int64_t t0 = 0; t0 < W; t0 += K) {
      const int64_t m = std::min(K, W - t0);
      const int64_t c0 = rev ? W - t0 - m : t0;  // first column of the tile in memory
      for (int64_t k = 0; k < K; ++k) {
        const int64_t o = (r0 + std::min(k, n - 1)) * W + c0;
        for (int64_t j = 0; j < m; ++j) { xt[j][k] = x[o + j]; gt[j][k] = g[o + j]; }
      }
      for (int64_t jj = 0; jj < m; ++jj) {
        const int64_t j = rev ? m - 1 - jj : jj;
        for (int64_t k = 0; k < K; ++k) { s[k] = xt[j][k] + gt[j][k] * (s[k] - xt[j][k]); ht[j][k] = s[k]; }
      }
      for (int64_t k = 0; k < n; ++k) {
        const int64_t o = (r0 + k) * W + c0;
        for (int64_t j = 0; j < m; ++j) h[o + j] = ht[j][k];
      }
    }
  }
}

// adjoint of `vertical`: u (one row of W) runs against the scan; adds (1 - g) u to gx, writes gg
template <typename T>
void vertical_back(const T* x, const T* g, const T* h, const T* go, T* gx, T* gg, T* u,
                   int64_t H, int64_t W, bool rev) {
  for (int64_t i = H - 1; i >= 0; --i) {  // i: position in scan order
    const int64_t r = rev ? H - 1 - i : i;
    const int64_t o = r * W;
    const T* gn = i + 1 < H ? g + (rev ? r - 1 : r + 1) * W : nullptr;  // gate of the next position
    const T* hp = i > 0 ? h + (rev ? r + 1 : r - 1) * W : nullptr;     // state before this position
    for (int64_t w = 0; w < W; ++w) {
      const T uv = go[o + w] + (gn ? gn[w] * u[w] : T(0));
      u[w] = uv;
      gx[o + w] += (T(1) - g[o + w]) * uv;
      gg[o + w] = uv * ((hp ? hp[w] : T(0)) - x[o + w]);
    }
  }
}

template <typename T>
void horizontal_back(const T* x, const T* g, const T* h, const T* go, T* gx, T* gg,
                     int64_t H, int64_t W, bool rev) {
  for (int64_t r0 = 0; r0 < H; r0 += K) {
    const int64_t n = std::min(K, H - r0);
    T u[K] = {};
    for (int64_t j = W - 1; j >= 0; --j) {  // j: position in scan order
      const int64_t c = rev ? W - 1 - j : j;
      const int64_t step = rev ? -1 : 1;  // offset of the next position in scan order
      for (int64_t k = 0; k < n; ++k) {
        const int64_t o = (r0 + k) * W + c;
        const T uv = go[o] + (j + 1 < W ? g[o + step] * u[k] : T(0));
        u[k] = uv;
        gx[o] += (T(1) - g[o]) * uv;
        gg[o] = uv * ((j > 0 ? h[o - step] : T(0)) - x[o]);
      }
    }
  }
}

// x (B, C, H, W), gates/out (B, 4C, H, W): block d of the gates drives direction d
// (left->right, right->left, top->bottom, bottom->top)
torch::Tensor forward(torch::Tensor x, torch::Tensor gates) {
  auto out = empty_huge(gates);
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), P = H * W;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gated_scan_4_forward", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    scalar_t* hp = out.data_ptr<scalar_t>();
    at::parallel_for(0, B * C, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / C, c = i % C;
        const scalar_t* xi = xp + i * P;
        for (int64_t d = 0; d < 4; ++d) {
          const int64_t o = ((b * 4 + d) * C + c) * P;
          if (d < 2) horizontal(xi, gp + o, hp + o, H, W, d == 1);
          else vertical(xi, gp + o, hp + o, H, W, d == 3);
        }
      }
    });
  });
  return out;
}

std::vector<torch::Tensor> backward(torch::Tensor x, torch::Tensor gates, torch::Tensor out,
                                    torch::Tensor grad_out) {
  auto grad_x = empty_huge(x);
  auto grad_gates = empty_huge(gates);
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), P = H * W;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gated_scan_4_backward", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t* hp = out.data_ptr<scalar_t>();
    const scalar_t* gop = grad_out.data_ptr<scalar_t>();
    scalar_t* gxp = grad_x.data_ptr<scalar_t>();
    scalar_t* ggp = grad_gates.data_ptr<scalar_t>();
    at::parallel_for(0, B * C, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> u(W);
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / C, c = i % C;
        std::fill(gxp + i * P, gxp + (i + 1) * P, scalar_t(0));
        for (int64_t d = 0; d < 4; ++d) {
          const int64_t o = ((b * 4 + d) * C + c) * P;
          if (d < 2) {
            horizontal_back(xp + i * P, gp + o, hp + o, gop + o, gxp + i * P, ggp + o, H, W, d == 1);
          } else {
            std::fill(u.begin(), u.end(), scalar_t(0));
            vertical_back(xp + i * P, gp + o, hp + o, gop + o, gxp + i * P, ggp + o, u.data(), H, W,
                          d == 3);
          }
        }
      }
    });
  });
  return {grad_x, grad_gates};
}
}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "four-direction gated scan (contiguous NCHW)");
  m.def("backward", &backward, "its gradients");
}
"""


def _cpu_flags() -> str:
    """This CPU's instruction-set flags: a build for ``-march=native`` is cached per CPU kind."""
    try:
        with open("/proc/cpuinfo") as info:
            return next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return platform.processor()


@functools.cache
def load() -> ModuleType | None:
    """The compiled kernel module (``forward(x, gates)``, ``backward(x, gates, out, grad_out)``) or None."""
    if os.environ.get("FLOWDEBLUR_NATIVE", "1") == "0":
        return None
    try:
        from torch.utils.cpp_extension import load_inline

        key = "\n".join([SOURCE, *CFLAGS, _cpu_flags()])
        name = "flowdeblur_scan_" + hashlib.sha256(key.encode()).hexdigest()[:12]
        return load_inline(name, cpp_sources=SOURCE, extra_cflags=CFLAGS, verbose=False)
    except Exception as error:  # no compiler, no headers, a failed build: the pure-PyTorch scan runs instead
        log.warning("flowdeblur: compiled gated scan unavailable (%s); using the PyTorch version",
                    str(error).splitlines()[0] if str(error) else type(error).__name__)
        return None
