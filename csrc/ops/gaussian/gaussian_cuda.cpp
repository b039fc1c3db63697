// CUDA registration of the full-covariance Gaussian op: the shared driver with the kernels of
// gaussian_kernels.cu, launched on the current stream.
#include "../../common/cuda_stream.h"

#include "../../common/chunking.h"
#include "gaussian_kernels.h"
#include "gaussian_impl.h"

namespace ood_ext::gaussian {
namespace {

struct CudaBackend : SequentialChunks {
  template <typename T>
  static void forward_epilogue(const T* y, const T* m, const double* constant, const BlockLayout& layout,
                               Reduce reduce, T* out, int64_t* argmax) {
    STD_CUDA_CHECK(cuda::forward_epilogue<T>(y, m, constant, layout, reduce, out, argmax,
                                             current_cuda_stream()));
  }

  template <typename T>
  static void backward_scale(T* y, const T* m, const double* constant, const BlockLayout& layout, Reduce reduce,
                             const T* grad, const T* result, const int64_t* argmax, T* weight) {
    STD_CUDA_CHECK(cuda::backward_scale<T>(y, m, constant, layout, reduce, grad, result, argmax, weight,
                                           current_cuda_stream()));
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CUDA, m) {
  m.impl("gaussian_log_prob", TORCH_BOX(&log_prob<CudaBackend>));
  m.impl("gaussian_log_prob_backward", TORCH_BOX(&log_prob_backward<CudaBackend>));
}

}  // namespace ood_ext::gaussian
