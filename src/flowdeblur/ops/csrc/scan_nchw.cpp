// Four-direction gated scan h_t = x_t + g_t (h_prev - x_t) on contiguous (N, C, H, W) tensors, and its gradients.
// Planes (one batch item, one channel: H x W) are shared between threads; each plane runs its four directions
// one after the other, so that x is read from memory once. Horizontal directions work on bands of K rows
// turned into K-wide columns in a small buffer (16 x 16 tiles transposed in registers with AVX-512), so that
// every step updates K independent states with one vector operation.
namespace flowdeblur_scan {
constexpr int64_t K = 16;  // rows of a horizontal band

#ifdef __AVX512F__
// dst[j * ds + k] = src[k * ss + j] for a 16 x 16 tile of floats (with stream: streaming stores where aligned)
inline void transpose16(const float* src, int64_t ss, float* dst, int64_t ds, bool stream) {
  __m512 r[16], t[16];
  for (int k = 0; k < 16; ++k) r[k] = _mm512_loadu_ps(src + k * ss);
  for (int k = 0; k < 16; k += 2) {  // per 128-bit lane: rows k, k+1 interleaved
    t[k] = _mm512_unpacklo_ps(r[k], r[k + 1]);
    t[k + 1] = _mm512_unpackhi_ps(r[k], r[k + 1]);
  }
  for (int k = 0; k < 16; k += 4) {  // r[k + c], lane L: column 4L + c, rows k .. k+3
    r[k] = _mm512_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 1] = _mm512_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[k + 2] = _mm512_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[k + 3] = _mm512_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int c = 0; c < 4; ++c) {  // a 4 x 4 transpose of 128-bit lanes: column 4L + c gets lane L of each
    const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
    const __m512 v3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
    t[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    t[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    t[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    t[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
  if (stream && streamable(dst) && ds % 16 == 0) {
    for (int j = 0; j < 16; ++j) _mm512_stream_ps(dst + j * ds, t[j]);
  } else {
    for (int j = 0; j < 16; ++j) _mm512_storeu_ps(dst + j * ds, t[j]);
  }
}
#endif

// buf[j * K + k] = src[k * W + j] for k < n, j < W: a band of n <= K rows as W columns of K (rows >= n: 0)
template <typename T>
void to_columns(const T* src, int64_t n, int64_t W, T* buf) {
  int64_t j0 = 0;
#ifdef __AVX512F__
  if constexpr (std::is_same_v<T, float>) {
    if (n == K) for (; j0 + K <= W; j0 += K) transpose16(src + j0, W, buf + j0 * K, K, false);
  }
#endif
  for (int64_t j = j0; j < W; ++j)
    for (int64_t k = 0; k < K; ++k) buf[j * K + k] = k < n ? src[k * W + j] : T(0);
}

// dst[k * W + j] = buf[j * K + k] for k < n: the inverse of to_columns (stream: dst is not read again soon)
template <typename T>
void from_columns(const T* buf, int64_t n, int64_t W, T* dst, bool stream = true) {
  int64_t j0 = 0;
#ifdef __AVX512F__
  if constexpr (std::is_same_v<T, float>) {
    if (n == K) for (; j0 + K <= W; j0 += K) transpose16(buf + j0 * K, K, dst + j0, W, stream);
  }
#endif
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = j0; j < W; ++j) dst[k * W + j] = buf[j * K + k];
}

// down (rev = false) or up the rows of one plane (H, W), vectorised over W; the state row s (W) stays in cache
template <typename T>
void vertical(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ h, T* __restrict__ s, int64_t H,
              int64_t W, bool rev) {
  std::fill(s, s + W, T(0));
  for (int64_t i = 0; i < H; ++i) {
    const int64_t o = (rev ? H - 1 - i : i) * W;
    for (int64_t w = 0; w < W; ++w) s[w] = x[o + w] + g[o + w] * (s[w] - x[o + w]);
    store_row(h + o, s, W);
  }
}

// both horizontal directions along the W columns of a band buffer at once (two independent recurrences per
// step): g0 (left to right) and g1 (right to left) hold the gates and are overwritten by the states
template <typename T>
void along_columns(const T* __restrict__ xb, T* __restrict__ g0, T* __restrict__ g1, int64_t W) {
  alignas(64) T s0[K] = {}, s1[K] = {};
  for (int64_t i = 0; i < W; ++i) {
    const int64_t a = i * K, b = (W - 1 - i) * K;
    for (int64_t k = 0; k < K; ++k) {
      const T xa = xb[a + k], xc = xb[b + k];
      s0[k] = xa + g0[a + k] * (s0[k] - xa);
      s1[k] = xc + g1[b + k] * (s1[k] - xc);
      g0[a + k] = s0[k];
      g1[b + k] = s1[k];
    }
  }
}

// adjoint of along_columns on a band: u_t = dL/dh_t + g_next u_next against the scan; adds (1 - g) u to gxb;
// ub holds dL/dh and is overwritten by dL/dg = u (h_prev - x)
template <typename T>
void along_columns_back(const T* __restrict__ xb, const T* __restrict__ gb, const T* __restrict__ hb,
                        T* __restrict__ ub, T* __restrict__ gxb, int64_t W, bool rev) {
  alignas(64) T u[K] = {};
  const int64_t step = rev ? -K : K;  // from a position to the next one in scan order
  for (int64_t i = W - 1; i >= 0; --i) {  // i: position in scan order
    const int64_t o = (rev ? W - 1 - i : i) * K;
    const T* gn = i + 1 < W ? gb + o + step : nullptr;
    const T* hp = i > 0 ? hb + o - step : nullptr;
    for (int64_t k = 0; k < K; ++k) {
      const T uv = ub[o + k] + (gn ? gn[k] * u[k] : T(0));
      u[k] = uv;
      gxb[o + k] += (T(1) - gb[o + k]) * uv;
      ub[o + k] = uv * ((hp ? hp[k] : T(0)) - xb[o + k]);
    }
  }
}

// adjoint of vertical: u (one row of W) runs against the scan; adds (1 - g) u to gx, writes gg through the
// row buffer r (W)
template <typename T>
void vertical_back(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ h,
                   const T* __restrict__ go, T* __restrict__ gx, T* __restrict__ gg, T* __restrict__ u,
                   T* __restrict__ r, int64_t H, int64_t W, bool rev) {
  const int64_t next = rev ? -W : W;  // from a row to the next one in scan order
  for (int64_t i = H - 1; i >= 0; --i) {  // i: position in scan order
    const int64_t o = (rev ? H - 1 - i : i) * W;
    if (i + 1 < H) {
      for (int64_t w = 0; w < W; ++w) u[w] = go[o + w] + g[o + next + w] * u[w];
    } else {
      for (int64_t w = 0; w < W; ++w) u[w] = go[o + w];
    }
    for (int64_t w = 0; w < W; ++w) gx[o + w] += (T(1) - g[o + w]) * u[w];
    if (i > 0) {
      for (int64_t w = 0; w < W; ++w) r[w] = u[w] * (h[o - next + w] - x[o + w]);
    } else {
      for (int64_t w = 0; w < W; ++w) r[w] = -u[w] * x[o + w];
    }
    store_row(gg + o, r, W);
  }
}

// x (B, C, H, W), gates/out (B, 4C, H, W): block d of the gates drives direction d
// (left->right, right->left, top->bottom, bottom->top)
torch::Tensor forward_nchw(const torch::Tensor& x, const torch::Tensor& gates) {
  TORCH_CHECK(x.is_contiguous() && gates.is_contiguous(), "gated scan kernel: contiguous NCHW inputs");
  auto out = pooled_empty(gates);
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), P = H * W;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gated_scan_4_forward", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    scalar_t* hp = out.data_ptr<scalar_t>();
    at::parallel_for(0, B * C, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> xb(W * K), h0(W * K), h1(W * K), row(W);
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / C, c = i % C;
        const scalar_t* xi = xp + i * P;
        const auto block = [&](int64_t d) { return ((b * 4 + d) * C + c) * P; };
        for (int64_t r0 = 0; r0 < H; r0 += K) {
          const int64_t n = std::min(K, H - r0);
          to_columns(xi + r0 * W, n, W, xb.data());
          to_columns(gp + block(0) + r0 * W, n, W, h0.data());
          to_columns(gp + block(1) + r0 * W, n, W, h1.data());
          along_columns(xb.data(), h0.data(), h1.data(), W);
          from_columns(h0.data(), n, W, hp + block(0) + r0 * W);
          from_columns(h1.data(), n, W, hp + block(1) + r0 * W);
        }
        for (int64_t d = 2; d < 4; ++d) vertical(xi, gp + block(d), hp + block(d), row.data(), H, W, d == 3);
      }
      store_fence();
    });
  });
  return out;
}

std::vector<torch::Tensor> backward_nchw(const torch::Tensor& x, const torch::Tensor& gates, const torch::Tensor& out,
                                    const torch::Tensor& grad_out) {
  TORCH_CHECK(x.is_contiguous() && gates.is_contiguous() && out.is_contiguous() && grad_out.is_contiguous(),
              "gated scan kernel: contiguous NCHW inputs");
  auto grad_x = pooled_empty(x);
  auto grad_gates = pooled_empty(gates);
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), P = H * W;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gated_scan_4_backward", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t* hp = out.data_ptr<scalar_t>();
    const scalar_t* gop = grad_out.data_ptr<scalar_t>();
    scalar_t* gxp = grad_x.data_ptr<scalar_t>();
    scalar_t* ggp = grad_gates.data_ptr<scalar_t>();
    at::parallel_for(0, B * C, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> xb(W * K), gb(W * K), hb(W * K), ub(W * K), gxb(W * K), u(W), row(W);
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = i / C, c = i % C;
        const auto block = [&](int64_t d) { return ((b * 4 + d) * C + c) * P; };
        for (int64_t r0 = 0; r0 < H; r0 += K) {  // horizontal directions write grad_x ...
          const int64_t n = std::min(K, H - r0), band = r0 * W;
          to_columns(xp + i * P + band, n, W, xb.data());
          std::fill(gxb.begin(), gxb.end(), scalar_t(0));
          for (int64_t d = 0; d < 2; ++d) {
            to_columns(gp + block(d) + band, n, W, gb.data());
            to_columns(hp + block(d) + band, n, W, hb.data());
            to_columns(gop + block(d) + band, n, W, ub.data());
            along_columns_back(xb.data(), gb.data(), hb.data(), ub.data(), gxb.data(), W, d == 1);
            from_columns(ub.data(), n, W, ggp + block(d) + band);
          }
          from_columns(gxb.data(), n, W, gxp + i * P + band, false);
        }
        for (int64_t d = 2; d < 4; ++d) {  // ... and vertical ones add to it
          vertical_back(xp + i * P, gp + block(d), hp + block(d), gop + block(d), gxp + i * P, ggp + block(d),
                        u.data(), row.data(), H, W, d == 3);
        }
      }
      store_fence();
    });
  });
  return {grad_x, grad_gates};
}
}  // namespace flowdeblur_scan
