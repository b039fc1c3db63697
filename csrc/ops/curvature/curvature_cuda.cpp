// CUDA registration of the curvature ops: the shared driver with the kernels of
// curvature_kernels.cu, launched on the current stream; chunks run one after another.
#include "../../common/cuda_stream.h"

#include "../../common/chunking.h"
#include "curvature_kernels.h"
#include "curvature_impl.h"

namespace ood_ext::curvature {
namespace {

struct CudaBackend : SequentialChunks {
  template <typename T>
  static void pair_products(const T* v, T* out, int64_t N, int64_t positions, int64_t D, T scale_off_diagonal) {
    STD_CUDA_CHECK(cuda::pair_products<T>(v, out, N, positions, D, scale_off_diagonal,
                                          current_cuda_stream()));
  }

  template <typename T>
  static void pair_reduce(const T* g, const T* V, int64_t N, int64_t positions, int64_t Dout, T* q) {
    STD_CUDA_CHECK(cuda::pair_reduce<T>(g, V, N, positions, Dout, q, current_cuda_stream()));
  }

  template <typename T>
  static void weighted_sum_squares(const T* M, const T* W, int64_t N, int64_t K, T* q) {
    STD_CUDA_CHECK(cuda::weighted_sum_squares<T>(M, W, N, K, q, current_cuda_stream()));
  }

  template <typename T>
  static void accumulate_squares(const T* M, int64_t N, int64_t K, double* S) {
    STD_CUDA_CHECK(cuda::accumulate_squares<T>(M, N, K, S, current_cuda_stream()));
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(ood_ext, CUDA, m) {
  m.impl("curvature_quadratic_form", TORCH_BOX(&quadratic_form_op<CudaBackend>));
  m.impl("curvature_eigen_correction", TORCH_BOX(&eigen_correction_op<CudaBackend>));
}

}  // namespace ood_ext::curvature
