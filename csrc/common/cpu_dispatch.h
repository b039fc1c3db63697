// Runtime ISA dispatch for the CPU kernels' inner loops. The extension is built for the
// baseline x86-64 ISA so that it runs anywhere; `run_vectorized(body)` compiles `body` a second
// time for AVX2 + FMA (everything it calls inlined into that copy) and runs that copy when the
// CPU supports it (set OOD_EXT_DISABLE_AVX2=1 to force the baseline copy). The build uses
// -ffp-contract=off, so both copies round identically: results do not depend on the CPU.
// Other architectures run `body` as built.
#pragma once

#include <cstdlib>
#include <cstring>

namespace ood_ext {

#if defined(__x86_64__) && defined(__GNUC__)
template <typename Body>
__attribute__((target("avx2,fma"), flatten)) void run_avx2(const Body& body) {
  body();
}

template <typename Body>
__attribute__((flatten)) void run_baseline(const Body& body) {
  body();
}

inline bool cpu_has_avx2() {
  static const bool has = [] {
    const char* disable = std::getenv("OOD_EXT_DISABLE_AVX2");
    if (disable != nullptr && std::strcmp(disable, "1") == 0) return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}

template <typename Body>
void run_vectorized(const Body& body) {
  if (cpu_has_avx2()) {
    run_avx2(body);
  } else {
    run_baseline(body);
  }
}
#else
template <typename Body>
void run_vectorized(const Body& body) {
  body();
}
#endif

}  // namespace ood_ext
