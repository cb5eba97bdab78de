// Four-direction gated scan on channels-last tensors: x (N, H, W, C) and gates/states (N, H, W, 4C) in memory,
// gate block d (channels d*C .. (d+1)*C of a pixel) driving direction d. Every update is a vector over the C
// channels of one pixel.
// Forward, with at most two threads per image: two sweeps per image, in parallel, one top to bottom running
// left->right and down, one bottom to top running right->left and up (the state of the vertical direction is
// a row of W x C values, in cache). Each sweep reads x once and half of every pixel's gates: reading a quarter
// of each 512-byte record at a time costs about three times its bytes (the prefetchers fetch whole records).
// The backward runs the adjoints of the same sweeps. With more threads than two per image: pass 1 shares the
// rows between threads and runs both horizontal directions, pass 2 shares strips of columns and runs down, then
// up.
namespace flowdeblur_scan {

// pixels per vertical strip: about 16 strips per image, at least 8 pixels
inline int64_t strip_width(int64_t W) { return std::min(W, std::max<int64_t>(8, (W + 15) / 16)); }

// the two sweeps of the forward (see above); sweep 1 of image b is item 2b + 1
template <typename T>
void forward_sweeps(const T* xp, const T* gp, T* hp, int64_t B, int64_t C, int64_t H, int64_t W) {
  const int64_t G = 4 * C;
  at::parallel_for(0, B * 2, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> v(W * C), s(C);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / 2;
      const bool back = item % 2;  // right to left (block 1) and up (block 3)
      const int64_t dh = back ? C : 0, dv = back ? 3 * C : 2 * C;
      std::fill(v.begin(), v.end(), T(0));
      for (int64_t t = 0; t < H; ++t) {
        const int64_t r = back ? H - 1 - t : t;
        std::fill(s.begin(), s.end(), T(0));
        for (int64_t i = 0; i < W; ++i) {
          const int64_t w = back ? W - 1 - i : i, pixel = (b * H + r) * W + w;
          const T* __restrict__ xq = xp + pixel * C;
          const T* __restrict__ gh = gp + pixel * G + dh;
          const T* __restrict__ gv = gp + pixel * G + dv;
          T* __restrict__ sh = s.data();
          T* __restrict__ sv = v.data() + w * C;
          for (int64_t c = 0; c < C; ++c) {
            sh[c] = xq[c] + gh[c] * (sh[c] - xq[c]);
            sv[c] = xq[c] + gv[c] * (sv[c] - xq[c]);
          }
          store_row(hp + pixel * G + dh, sh, C);
          store_row(hp + pixel * G + dv, sv, C);
        }
      }
    }
    store_fence();
  });
}

torch::Tensor forward_nhwc(const torch::Tensor& x, const torch::Tensor& gates) {
  TORCH_CHECK(x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
              gates.is_contiguous(torch::MemoryFormat::ChannelsLast), "gated scan kernel: channels-last inputs");
  auto out = pooled_empty(gates, true);
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), G = 4 * C;
  const int64_t strip = strip_width(W), strips = (W + strip - 1) / strip;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gated_scan_4_forward_nhwc", [&] {
    using T = scalar_t;
    const T* xp = x.data_ptr<T>();
    const T* gp = gates.data_ptr<T>();
    T* hp = out.data_ptr<T>();
    if (at::get_num_threads() <= 2 * B) {
      forward_sweeps(xp, gp, hp, B, C, H, W);
      return;
    }
    at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> s0(C), s1(C);
      for (int64_t row = begin; row < end; ++row) {
        const T* xr = xp + row * W * C; const T* gr = gp + row * W * G; T* hr = hp + row * W * G;
        std::fill(s0.begin(), s0.end(), T(0));
        std::fill(s1.begin(), s1.end(), T(0));
        for (int64_t i = 0; i < W; ++i) {  // left to right at pixel i, right to left at pixel W - 1 - i
          const int64_t a = i, e = W - 1 - i;
          const T* xa = xr + a * C; const T* ga = gr + a * G;
          const T* xe = xr + e * C; const T* ge = gr + e * G + C;
          T* u0 = s0.data(); T* u1 = s1.data();
          for (int64_t c = 0; c < C; ++c) {
            u0[c] = xa[c] + ga[c] * (u0[c] - xa[c]);
            u1[c] = xe[c] + ge[c] * (u1[c] - xe[c]);
          }
          store_row(hr + a * G, u0, C);
          store_row(hr + e * G + C, u1, C);
        }
      }
      store_fence();
    });
    at::parallel_for(0, B * strips, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> s(strip * C);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / strips, w0 = (item % strips) * strip, m = std::min(strip, W - w0);
        for (int64_t d = 2; d < 4; ++d) {
          std::fill(s.begin(), s.end(), T(0));
          for (int64_t t = 0; t < H; ++t) {
            const int64_t pixel = (b * H + (d == 3 ? H - 1 - t : t)) * W + w0;
            const T* xr = xp + pixel * C; const T* gr = gp + pixel * G + d * C; T* hr = hp + pixel * G + d * C;
            for (int64_t q = 0; q < m; ++q) {
              T* u = s.data() + q * C;
              for (int64_t c = 0; c < C; ++c) u[c] = xr[q * C + c] + gr[q * G + c] * (u[c] - xr[q * C + c]);
              store_row(hr + q * G, u, C);
            }
          }
        }
      }
      store_fence();
    });
  });
  return out;
}

// the adjoints of the two forward sweeps, in parallel, against their scan order: u_t = dL/dh_t + g_next u_next,
// dL/dg = u (h_prev - x); each sweep writes its (1 - g) u sum for dL/dx to its own buffer (gx0, gx1)
template <typename T>
void backward_sweeps(const T* xp, const T* gp, const T* hp, const T* gop, T* gx0, T* gx1, T* ggp, int64_t B,
                     int64_t C, int64_t H, int64_t W) {
  const int64_t G = 4 * C;
  at::parallel_for(0, B * 2, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> v(W * C), s(C), rh(C), rv(C), rx(C), zero(C);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / 2;
      const bool back = item % 2;
      const int64_t dh = back ? C : 0, dv = back ? 3 * C : 2 * C;
      const int64_t step = back ? -1 : 1;  // pixels (and rows) from a position to the next one in scan order
      T* gx = back ? gx1 : gx0;
      std::fill(v.begin(), v.end(), T(0));
      for (int64_t t = H - 1; t >= 0; --t) {  // t, i: positions in scan order
        const int64_t r = back ? H - 1 - t : t;
        std::fill(s.begin(), s.end(), T(0));
        for (int64_t i = W - 1; i >= 0; --i) {
          const int64_t w = back ? W - 1 - i : i, pixel = (b * H + r) * W + w;
          const int64_t ah = pixel * G + dh, av = pixel * G + dv;
          const T* __restrict__ gnh = gp + (i + 1 < W ? ah + step * G : ah);  // any gate where u is still 0
          const T* __restrict__ gnv = gp + (t + 1 < H ? av + step * W * G : av);
          const T* __restrict__ hph = i > 0 ? hp + ah - step * G : zero.data();
          const T* __restrict__ hpv = t > 0 ? hp + av - step * W * G : zero.data();
          const T* __restrict__ xq = xp + pixel * C;
          T* __restrict__ uh = s.data();
          T* __restrict__ uv = v.data() + w * C;
          for (int64_t c = 0; c < C; ++c) {
            const T a = gop[ah + c] + gnh[c] * uh[c], e = gop[av + c] + gnv[c] * uv[c];
            uh[c] = a;
            uv[c] = e;
            rx[c] = (T(1) - gp[ah + c]) * a + (T(1) - gp[av + c]) * e;
            rh[c] = a * (hph[c] - xq[c]);
            rv[c] = e * (hpv[c] - xq[c]);
          }
          store_row(ggp + ah, rh.data(), C);
          store_row(ggp + av, rv.data(), C);
          store_row(gx + pixel * C, rx.data(), C);
        }
      }
    }
    store_fence();
  });
}

std::vector<torch::Tensor> backward_nhwc(const torch::Tensor& x, const torch::Tensor& gates,
                                         const torch::Tensor& out, const torch::Tensor& grad_out) {
  const auto cl = torch::MemoryFormat::ChannelsLast;
  TORCH_CHECK(x.is_contiguous(cl) && gates.is_contiguous(cl) && out.is_contiguous(cl) && grad_out.is_contiguous(cl),
              "gated scan kernel: channels-last inputs");
  auto grad_x = pooled_empty(x, true);
  auto grad_gates = pooled_empty(gates, true);
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), G = 4 * C;
  const int64_t strip = strip_width(W), strips = (W + strip - 1) / strip;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gated_scan_4_backward_nhwc", [&] {
    using T = scalar_t;
    const T* xp = x.data_ptr<T>();
    const T* gp = gates.data_ptr<T>();
    const T* hp = out.data_ptr<T>();
    const T* gop = grad_out.data_ptr<T>();
    T* gxp = grad_x.data_ptr<T>();
    T* ggp = grad_gates.data_ptr<T>();
    if (at::get_num_threads() <= 2 * B) {
      auto second = pooled_empty(x, true);  // the second sweep's part of dL/dx
      backward_sweeps(xp, gp, hp, gop, gxp, second.data_ptr<T>(), ggp, B, C, H, W);
      grad_x.add_(second);
      return;
    }
    // the adjoint u_t = dL/dh_t + g_next u_next against the scan; dL/dx += (1 - g) u; dL/dg = u (h_prev - x)
    at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {  // horizontal directions write grad_x ...
      std::vector<T> gx(W * C), u(C), r(C), zero(C);
      for (int64_t row = begin; row < end; ++row) {
        const T* xr = xp + row * W * C;
        std::fill(gx.begin(), gx.end(), T(0));
        for (int64_t d = 0; d < 2; ++d) {
          const int64_t o = row * W * G + d * C, next = d == 0 ? G : -G;
          std::fill(u.begin(), u.end(), T(0));
          for (int64_t i = W - 1; i >= 0; --i) {  // i: position in scan order
            const int64_t w = d == 0 ? i : W - 1 - i, at = o + w * G;
            const T* __restrict__ gn = gp + (i + 1 < W ? at + next : at);  // any gate where u is still 0
            const T* __restrict__ hv = i > 0 ? hp + at - next : zero.data();
            const T* __restrict__ go = gop + at; const T* __restrict__ g = gp + at;
            const T* __restrict__ xw = xr + w * C;
            T* __restrict__ uu = u.data(); T* __restrict__ gxw = gx.data() + w * C; T* __restrict__ rr = r.data();
            for (int64_t c = 0; c < C; ++c) {
              const T uv = go[c] + gn[c] * uu[c];
              uu[c] = uv;
              gxw[c] += (T(1) - g[c]) * uv;
              rr[c] = uv * (hv[c] - xw[c]);
            }
            store_row(ggp + at, rr, C);
          }
        }
        store_row(gxp + row * W * C, gx.data(), W * C);
      }
      store_fence();
    });
    at::parallel_for(0, B * strips, 1, [&](int64_t begin, int64_t end) {  // ... and vertical ones add to it
      std::vector<T> u(strip * C), r(C), zero(C);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / strips, w0 = (item % strips) * strip, m = std::min(strip, W - w0);
        for (int64_t d = 2; d < 4; ++d) {
          std::fill(u.begin(), u.end(), T(0));
          const int64_t next = (d == 2 ? W : -W) * G;  // from a pixel to the next one in scan order
          for (int64_t t = H - 1; t >= 0; --t) {  // t: position in scan order
            const int64_t pixel = (b * H + (d == 3 ? H - 1 - t : t)) * W + w0;
            for (int64_t q = 0; q < m; ++q) {
              const int64_t at = (pixel + q) * G + d * C, xi = (pixel + q) * C;
              const T* __restrict__ gn = gp + (t + 1 < H ? at + next : at);  // any gate where u is still 0
              const T* __restrict__ hv = t > 0 ? hp + at - next : zero.data();
              const T* __restrict__ go = gop + at; const T* __restrict__ g = gp + at;
              const T* __restrict__ xq = xp + xi;
              T* __restrict__ uq = u.data() + q * C; T* __restrict__ gxq = gxp + xi; T* __restrict__ rr = r.data();
              for (int64_t c = 0; c < C; ++c) {
                const T uv = go[c] + gn[c] * uq[c];
                uq[c] = uv;
                gxq[c] += (T(1) - g[c]) * uv;
                rr[c] = uv * (hv[c] - xq[c]);
              }
              store_row(ggp + at, rr, C);
            }
          }
        }
      }
      store_fence();
    });
  });
  return {grad_x, grad_gates};
}
}  // namespace flowdeblur_scan
