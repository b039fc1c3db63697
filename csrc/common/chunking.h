// How a driver walks a batch in chunks. ParallelChunks runs them concurrently, one per thread,
// each with single-threaded GEMMs on cache-sized data (ATen ops inside a parallel region do not
// spawn threads of their own): the CPU Gaussian op, whose epilogue dominates. SequentialChunks
// runs them in order, each GEMM on every thread: the CPU curvature ops (GEMM-bound) and the
// CUDA backends (stream order). `worker_index()` names the per-worker scratch buffer a chunk may use.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace ood_ext {

struct ParallelChunks {
  template <typename Fn>
  static void for_each_chunk(int64_t N, int64_t rows, const Fn& fn) {
    const int64_t chunks = (N + rows - 1) / rows;
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) fn(c * rows, std::min(rows, N - c * rows));
    });
  }
  static int64_t num_workers() { return at::get_num_threads(); }
  static int64_t worker_index() { return at::get_thread_num(); }
};

struct SequentialChunks {
  template <typename Fn>
  static void for_each_chunk(int64_t N, int64_t rows, const Fn& fn) {
    for (int64_t n0 = 0; n0 < N; n0 += rows) fn(n0, std::min(rows, N - n0));
  }
  static int64_t num_workers() { return 1; }
  static int64_t worker_index() { return 0; }
};

}  // namespace ood_ext
