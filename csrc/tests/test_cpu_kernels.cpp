// The CPU kernels through the dispatcher, against plain ATen float64 computations (the tests use
// ATen as their reference; the kernels themselves use only the stable ABI).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace {

template <typename Fn>
auto op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Fn>();
}

using GaussianFn = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                      const std::optional<at::Tensor>&, c10::string_view);
using CurvatureFn = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                               const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, c10::string_view);
using NormsFn = at::Tensor(const at::Tensor&, const at::Tensor&, c10::string_view, const std::optional<at::Tensor>&,
                           const std::optional<at::Tensor>&);

at::Tensor upper_factors(int64_t C, int64_t D) {
  at::Tensor a = at::randn({C, D, D}, at::kDouble) / std::sqrt(static_cast<double>(D));
  at::Tensor cov = at::bmm(a, a.transpose(1, 2)) + at::eye(D, at::kDouble);
  at::Tensor chol = at::linalg_cholesky(cov);
  return at::linalg_solve_triangular(chol, at::eye(D, at::kDouble).expand({C, D, D}), false).transpose(1, 2);
}

TEST(GaussianLogProb, MatchesDenseComputation) {
  at::manual_seed(0);
  const int64_t N = 300, C = 4, D = 70;
  const at::Tensor x = at::randn({N, D}, at::kDouble), mean = at::randn({C, D}, at::kDouble);
  const at::Tensor u = upper_factors(C, D);
  const auto [out, argmax] = op<GaussianFn>("ood_ext::gaussian_log_prob").call(x, mean, u, std::nullopt, "none");
  const at::Tensor y = at::bmm(x.unsqueeze(0) - mean.unsqueeze(1), u);  // [C, N, D]
  const at::Tensor want = (at::log(u.diagonal(0, 1, 2)).sum(1).unsqueeze(1) - 0.5 * D * std::log(2 * M_PI) -
                           0.5 * y.square().sum(2))
                              .t();
  EXPECT_TRUE(at::allclose(out, want, 1e-10, 1e-10));
  EXPECT_EQ(argmax.numel(), 0);
  const auto [best, index] = op<GaussianFn>("ood_ext::gaussian_log_prob").call(x.to(at::kFloat), mean.to(at::kFloat),
                                                                                 u.to(at::kFloat), std::nullopt, "max");
  EXPECT_TRUE(at::allclose(best.to(at::kDouble), std::get<0>(want.max(1)), 1e-4, 1e-3));
}

TEST(GaussianLogProb, RejectsLowerTriangularFactors) {
  const at::Tensor x = at::randn({3, 2}, at::kDouble);
  const at::Tensor lower = at::tril(at::ones({1, 2, 2}, at::kDouble));
  try {
    op<GaussianFn>("ood_ext::gaussian_log_prob").call(x, x.narrow(0, 0, 1), lower, std::nullopt, "none");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("upper triangular"), std::string::npos);
  }
}

TEST(CurvatureQuadraticForm, StrategiesAgreeWithDenseGradients) {
  at::manual_seed(1);
  const at::Tensor a = at::randn({6, 4, 5}, at::kDouble), g = at::randn({6, 4, 3}, at::kDouble);
  const at::Tensor w = at::rand({3, 5}, at::kDouble);
  const at::Tensor qa = std::get<0>(at::linalg_qr(at::randn({5, 5}, at::kDouble)));
  const at::Tensor qg = std::get<0>(at::linalg_qr(at::randn({3, 3}, at::kDouble)));
  const at::Tensor m = at::matmul(qg.t(), at::matmul(at::bmm(g.transpose(1, 2), a), qa));
  const at::Tensor want = (m.square() * w).sum({1, 2});
  for (const char* strategy : {"pairs", "chunked", "auto"}) {
    const at::Tensor q = op<CurvatureFn>("ood_ext::curvature_quadratic_form").call(a, g, w, qa, qg, strategy);
    EXPECT_TRUE(at::allclose(q, want, 1e-10, 1e-10)) << strategy;
  }
}

TEST(MultiscaleScoreNorms, WeightedNormsMatchAten) {
  at::manual_seed(2);
  const at::Tensor s = at::randn({3, 5, 1, 4, 4}, at::kFloat), sigmas = at::rand({3}, at::kFloat) + 0.1;
  const at::Tensor got = op<NormsFn>("ood_ext::multiscale_score_norms").call(s, sigmas, "weighted", std::nullopt,
                                                                             std::nullopt);
  const at::Tensor want = (s.to(at::kDouble) * sigmas.to(at::kDouble).view({3, 1, 1, 1, 1})).flatten(2).norm(2, 2).t();
  EXPECT_TRUE(at::allclose(got.to(at::kDouble), want, 1e-6, 1e-6));
}

TEST(Parallel, KernelsUseEveryThread) {
  at::set_num_threads(2);
  const int64_t used = c10::Dispatcher::singleton()
                           .findSchemaOrThrow("ood_ext::parallel_threads_used", "")
                           .typed<int64_t()>()
                           .call();
  EXPECT_EQ(used, 2);
}

}  // namespace
