// A diagnostic op: how many threads at::parallel_for really uses inside this library. A build
// without OpenMP flags compiles ATen's parallel_for to a serial loop and would answer 1.
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <atomic>
#include <bitset>
#include <cstdint>

namespace ood_ext {

int64_t parallel_threads_used() {
  std::atomic<uint64_t> seen{0};
  at::parallel_for(0, 1 << 16, 1, [&](int64_t, int64_t) { seen |= uint64_t{1} << (at::get_thread_num() % 64); });
  return static_cast<int64_t>(std::bitset<64>(seen.load()).count());
}

}  // namespace ood_ext

TORCH_LIBRARY_FRAGMENT(ood_ext, m) {
  m.def("parallel_threads_used() -> int", &ood_ext::parallel_threads_used);
}
