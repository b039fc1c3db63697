// CUDA registration of the diagonal Gaussian op: the shared driver with the kernels of
// diag_gaussian_kernels.cu, launched on the current stream.
#include "../../common/cuda_stream.h"

#include "diag_gaussian_kernels.h"
#include "diag_gaussian_impl.h"

namespace ood_ext::diag_gaussian {
namespace {

struct CudaBackend {
  template <typename T>
  static void forward(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N, int64_t C,
                      int64_t D, Reduce reduce, T* out, int64_t* argmax) {
    STD_CUDA_CHECK(cuda::forward<T>(x, mean, inv_var, constant, N, C, D, reduce, out, argmax,
                                    current_cuda_stream()));
  }

  template <typename T>
  static void backward_rows(const T* x, const T* mean, const T* inv_var, const double* constant, int64_t N,
                            int64_t C, int64_t D, Reduce reduce, const T* grad, const T* result,
                            const int64_t* argmax, T* weight, T* grad_x) {
    STD_CUDA_CHECK(cuda::backward_rows<T>(x, mean, inv_var, constant, N, C, D, reduce, grad, result, argmax, weight,
                                          grad_x, current_cuda_stream()));
  }

  template <typename T>
  static void backward_classes(const T* x, const T* mean, const T* inv_var, const T* weight, int64_t N, int64_t C,
                               int64_t D, T* grad_mean, T* grad_var) {
    STD_CUDA_CHECK(cuda::backward_classes<T>(x, mean, inv_var, weight, N, C, D, grad_mean, grad_var,
                                             current_cuda_stream()));
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CUDA, m) {
  m.impl("diag_gaussian_log_prob", TORCH_BOX(&log_prob<CudaBackend>));
  m.impl("diag_gaussian_log_prob_backward", TORCH_BOX(&log_prob_backward<CudaBackend>));
}

}  // namespace ood_ext::diag_gaussian
