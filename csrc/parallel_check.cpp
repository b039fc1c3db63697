// A diagnostic op: how many threads torch::stable::parallel_for really uses inside this library
// (the threads of torch's own pool; torch.set_num_threads governs them).
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

namespace ood_ext {

int64_t parallel_threads_used() {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  torch::stable::parallel_for(0, 1 << 16, 1, [&](int64_t, int64_t) {
    const std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  return static_cast<int64_t>(seen.size());
}

}  // namespace ood_ext

STABLE_TORCH_LIBRARY_FRAGMENT(ood_ext, m) { m.def("parallel_threads_used() -> int"); }
STABLE_TORCH_LIBRARY_IMPL(ood_ext, CompositeExplicitAutograd, m) {
  m.impl("parallel_threads_used", TORCH_BOX(&ood_ext::parallel_threads_used));
}
