// Local correlation (cost volume) on channels-last float tensors, and its gradients:
//   out[n, k, y, x] = (1 / C) sum_c f1[n, y, x, c] f2[n, y + dy_k, x + dx_k, c],  k = (dy + r)(2r + 1) + (dx + r),
// with samples outside f2 counting as zero. In memory f1, f2 are (N, H, W, C) and out is (N, H, W, K): one pass
// over the pixels, each pixel's K dot products read its C channels of f1 from registers and C channels of each
// neighbour from cache. The backward gathers (no scatter, so rows are shared between threads without races):
//   grad_f1[p] = (1 / C) sum_k g[p, k] f2[p + d_k],   grad_f2[q] = (1 / C) sum_k g[q - d_k, k] f1[q - d_k].
namespace flowdeblur_correlation {

inline void check(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.dim() == 4, name,
              ": expected a float32 CPU tensor (N, C, H, W)");
  TORCH_CHECK(t.is_contiguous(at::MemoryFormat::ChannelsLast), name, ": expected channels-last memory");
}

torch::Tensor forward(const torch::Tensor& f1, const torch::Tensor& f2, int64_t radius) {
  check(f1, "f1");
  check(f2, "f2");
  TORCH_CHECK(f1.sizes() == f2.sizes(), "f1 and f2: expected the same shape");
  const int64_t N = f1.size(0), C = f1.size(1), H = f1.size(2), W = f1.size(3), S = 2 * radius + 1, K = S * S;
  auto out = torch::empty({N, K, H, W}, f1.options().memory_format(at::MemoryFormat::ChannelsLast));
  const float* a = f1.data_ptr<float>();
  const float* b = f2.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const float scale = 1.0f / static_cast<float>(C);
  at::parallel_for(0, N * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / H, y = row % H;
      for (int64_t x = 0; x < W; ++x) {
        const float* __restrict__ p = a + ((n * H + y) * W + x) * C;
        float* __restrict__ q = o + ((n * H + y) * W + x) * K;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t yy = y + k / S - radius, xx = x + k % S - radius;
          float sum = 0.0f;
          if (yy >= 0 && yy < H && xx >= 0 && xx < W) {
            const float* __restrict__ r = b + ((n * H + yy) * W + xx) * C;
#pragma omp simd reduction(+ : sum)
            for (int64_t c = 0; c < C; ++c) sum += p[c] * r[c];
          }
          q[k] = sum * scale;
        }
      }
    }
  });
  return out;
}

std::vector<torch::Tensor> backward(const torch::Tensor& f1, const torch::Tensor& f2, const torch::Tensor& grad,
                                    int64_t radius) {
  check(f1, "f1");
  check(f2, "f2");
  check(grad, "grad");
  const int64_t N = f1.size(0), C = f1.size(1), H = f1.size(2), W = f1.size(3), S = 2 * radius + 1, K = S * S;
  auto grad_f1 = torch::empty_like(f1);
  auto grad_f2 = torch::empty_like(f2);
  const float* a = f1.data_ptr<float>();
  const float* b = f2.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* ga = grad_f1.data_ptr<float>();
  float* gb = grad_f2.data_ptr<float>();
  const float scale = 1.0f / static_cast<float>(C);
  at::parallel_for(0, N * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / H, y = row % H;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t pixel = (n * H + y) * W + x;
        float* __restrict__ d1 = ga + pixel * C;
        float* __restrict__ d2 = gb + pixel * C;
        for (int64_t c = 0; c < C; ++c) d1[c] = d2[c] = 0.0f;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t dy = k / S - radius, dx = k % S - radius;
          if (y + dy >= 0 && y + dy < H && x + dx >= 0 && x + dx < W) {  // f2 at p + d_k
            const float w = g[pixel * K + k] * scale;
            const float* __restrict__ r = b + ((n * H + y + dy) * W + x + dx) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) d1[c] += w * r[c];
          }
          if (y - dy >= 0 && y - dy < H && x - dx >= 0 && x - dx < W) {  // f1 at q - d_k
            const int64_t source = (n * H + y - dy) * W + x - dx;
            const float w = g[source * K + k] * scale;
            const float* __restrict__ r = a + source * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) d2[c] += w * r[c];
          }
        }
      }
    }
  });
  return {grad_f1, grad_f2};
}

}  // namespace flowdeblur_correlation

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &flowdeblur_correlation::forward, "local correlation, channels-last float32");
  m.def("backward", &flowdeblur_correlation::backward, "its gradients (grad_f1, grad_f2)");
}
