// The CUDA stream the op glue launches on: the current stream of the current device (the
// drivers make the inputs' device current), through the stable ABI.
#pragma once

#include <cuda_runtime.h>
#include <torch/csrc/stable/accelerator.h>
#include <torch/csrc/stable/macros.h>

namespace ood_ext {

inline cudaStream_t current_cuda_stream() {
  namespace accelerator = torch::stable::accelerator;
  return static_cast<cudaStream_t>(accelerator::getCurrentStream(accelerator::getCurrentDeviceIndex()).nativeHandle());
}

}  // namespace ood_ext
