// How a driver walks a batch in chunks: for_each_chunk(N, rows, fn) calls fn(n0, rows, worker)
// for every chunk, where `worker` < num_workers() names the scratch buffer the chunk may use
// (no two chunks running at once share one).
//
// ParallelChunks runs them concurrently, one group of consecutive chunks per thread, each with
// single-threaded GEMMs on cache-sized data (ATen ops inside a parallel region do not spawn
// threads of their own): the CPU Gaussian op, whose epilogue dominates. SequentialChunks runs
// them in order, each GEMM on every thread: the CPU curvature ops (GEMM-bound) and the CUDA
// backends (stream order).
#pragma once

#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <cstdint>

namespace ood_ext {

struct ParallelChunks {
  template <typename Fn>
  static void for_each_chunk(int64_t N, int64_t rows, const Fn& fn) {
    const int64_t chunks = (N + rows - 1) / rows, workers = std::min(num_workers(), chunks);
    // Worker w runs chunks [w·chunks/workers, (w+1)·chunks/workers): the stable parallel_for
    // does not say which thread runs a task, so the group index names the scratch buffer.
    torch::stable::parallel_for(0, workers, 1, [&](int64_t begin, int64_t end) {
      for (int64_t w = begin; w < end; ++w) {
        for (int64_t c = w * chunks / workers; c < (w + 1) * chunks / workers; ++c) {
          fn(c * rows, std::min(rows, N - c * rows), w);
        }
      }
    });
  }
  static int64_t num_workers() { return static_cast<int64_t>(torch::stable::get_num_threads()); }
};

struct SequentialChunks {
  template <typename Fn>
  static void for_each_chunk(int64_t N, int64_t rows, const Fn& fn) {
    for (int64_t n0 = 0; n0 < N; n0 += rows) fn(n0, std::min(rows, N - n0), int64_t{0});
  }
  static int64_t num_workers() { return 1; }
};

}  // namespace ood_ext
