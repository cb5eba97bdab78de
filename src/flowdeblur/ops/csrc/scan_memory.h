// Memory helpers of the gated scan kernels: a pool of output blocks, streaming stores.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <type_traits>
#include <vector>
#ifdef __linux__
#include <sys/mman.h>
#endif
#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace flowdeblur_scan {
// Outputs of hundreds of MB: a fresh allocation is mapped page by page on first touch, and the kernel zeroes
// every page, which costs about as much as the scan itself. Freed outputs are kept (by byte size, at most
// two per size and FLOWDEBLUR_SCAN_POOL_MB in all, 1024 by default; 0 turns this off) and handed out again,
// as a caching allocator would: the next frame or training step writes into memory already mapped. New
// blocks are 2 MB aligned and, on Linux, asked for 2 MB pages (one fault per 2 MB instead of per 4 kB).
class OutputPool {
 public:
  static OutputPool& get() {
    static OutputPool* pool = new OutputPool();  // never destroyed: tensors may be freed at exit
    return *pool;
  }

  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= bytes;
        return p;
      }
    }
    const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, rounded);
    TORCH_CHECK(p != nullptr, "gated scan kernel: out of memory allocating ", bytes, " bytes");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
  }

  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& blocks = free_[bytes];
      if (blocks.size() < 2 && cached_ + bytes <= limit_) {
        blocks.push_back(p);
        cached_ += bytes;
        return;
      }
    }
    std::free(p);
  }

  int64_t release() {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t released = static_cast<int64_t>(cached_);
    for (auto& entry : free_)
      for (void* p : entry.second) std::free(p);
    free_.clear();
    cached_ = 0;
    return released;
  }

 private:
  OutputPool() {
    const char* mb = std::getenv("FLOWDEBLUR_SCAN_POOL_MB");
    limit_ = static_cast<size_t>(mb ? std::max(0L, std::atol(mb)) : 1024L) << 20;
  }
  static constexpr size_t kHuge = size_t(1) << 21;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0, limit_ = 0;
};

// an uninitialised tensor shaped like the 4-d `like`, contiguous or channels-last (nhwc), from the pool
torch::Tensor pooled_empty(const torch::Tensor& like, bool nhwc = false) {
  const auto format = nhwc ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const size_t bytes = static_cast<size_t>(like.numel()) * like.element_size();
  if (bytes == 0) return torch::empty_like(like, format);
  const int64_t C = like.size(1), H = like.size(2), W = like.size(3);
  const std::vector<int64_t> strides = nhwc ? std::vector<int64_t>{C * H * W, 1, W * C, C}
                                            : std::vector<int64_t>{C * H * W, H * W, W, 1};
  void* p = OutputPool::get().take(bytes);
  return torch::from_blob(p, like.sizes(), strides, [bytes](void* q) { OutputPool::get().give(q, bytes); },
                          like.options());
}

// frees the kept outputs; returns their bytes
int64_t release_cached() { return OutputPool::get().release(); }

// Outputs are written once and read by the next layer only: with AVX-512, whole cache lines of floats go out
// with streaming stores (no read of the line before writing it, no eviction of the inputs from the caches).
template <typename T>
inline bool streamable(const T* p) {
#ifdef __AVX512F__
  return std::is_same_v<T, float> && reinterpret_cast<uintptr_t>(p) % 64 == 0;
#else
  return false;
#endif
}

// dst[0 .. n) = src[0 .. n)
template <typename T>
inline void store_row(T* __restrict__ dst, const T* __restrict__ src, int64_t n) {
  int64_t i = 0;
#ifdef __AVX512F__
  if constexpr (std::is_same_v<T, float>) {
    if (streamable(dst)) for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
  }
#endif
  for (; i < n; ++i) dst[i] = src[i];
}

// after a thread's streaming stores, before others read them
inline void store_fence() {
#ifdef __AVX512F__
  _mm_sfence();
#endif
}
}  // namespace flowdeblur_scan
