// The host/device maths headers, checked on the host against plain loops in double.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "common/density_reduce.h"
#include "ops/curvature/curvature_math.h"
#include "ops/diag_gaussian/diag_gaussian_math.h"
#include "ops/gaussian/gaussian_math.h"
#include "ops/score_norms/score_norms_math.h"

namespace ood_ext {
namespace {

std::vector<double> random_values(size_t n, unsigned seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = normal(gen);
  return v;
}

TEST(StridedSum, MatchesPlainSumForEveryLaneAndStride) {
  const auto v = random_values(1000, 1);
  for (int64_t stride : {1, 3, 32}) {
    for (int64_t lane = 0; lane < stride; ++lane) {
      double want = 0;
      for (int64_t k = lane; k < 1000; k += stride) want += v[k];
      const double got = strided_sum<double>(lane, 1000, stride, [&](int64_t k) { return v[k]; });
      EXPECT_NEAR(got, want, 1e-11) << "lane " << lane << " stride " << stride;
    }
  }
  EXPECT_EQ(strided_sum<double>(5, 5, 1, [](int64_t) { return 1.0; }), 0.0);
}

TEST(OnlineMaxLse, MatchesTwoPassMaxAndLogSumExp) {
  const auto v = random_values(50, 2, 30.0);
  OnlineMaxLse acc;
  for (size_t i = 0; i < v.size(); ++i) acc.push(v[i], static_cast<int64_t>(i));
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) best = v[i] > v[best] ? i : best;
  double sum = 0;
  for (double x : v) sum += std::exp(x - v[best]);
  EXPECT_EQ(acc.max, v[best]);
  EXPECT_EQ(acc.argmax, static_cast<int64_t>(best));
  EXPECT_NEAR(acc.logsumexp(), v[best] + std::log(sum), 1e-12);
}

TEST(OnlineMaxLse, StaysFiniteForHugeMagnitudes) {
  OnlineMaxLse acc;
  acc.push(-1e6, 0);
  acc.push(-1e6 + 1, 1);
  EXPECT_NEAR(acc.logsumexp(), -1e6 + 1 + std::log1p(std::exp(-1.0)), 1e-6);
}

TEST(OnlineMaxLse, AllMinusInfinityGivesTheFirstIndexAndMinusInfinity) {
  OnlineMaxLse acc;
  for (int64_t c = 0; c < 3; ++c) acc.push(-INFINITY, c);
  EXPECT_EQ(acc.argmax, 0);
  EXPECT_EQ(acc.logsumexp(), -INFINITY);
  acc.push(-2.0, 3);  // a finite value after −inf ones takes over
  EXPECT_EQ(acc.argmax, 3);
  EXPECT_EQ(acc.logsumexp(), -2.0);
}

TEST(ReduceGradWeight, RoutesTheGradientPerReduction) {
  EXPECT_EQ(reduce_grad_weight(Reduce::kNone, 2.5, 0.0, 0.0, -1, 3), 2.5);
  EXPECT_EQ(reduce_grad_weight(Reduce::kMax, 2.0, 0.0, 0.0, 3, 3), 2.0);
  EXPECT_EQ(reduce_grad_weight(Reduce::kMax, 2.0, 0.0, 0.0, 1, 3), 0.0);
  EXPECT_NEAR(reduce_grad_weight(Reduce::kLogSumExp, 2.0, std::log(0.25), 0.0, -1, 0), 0.5, 1e-15);
}

TEST(GaussianBlockLayout, CoversEveryCoordinateOnce) {
  const gaussian::BlockLayout layout{3, 2, 37, 16};
  EXPECT_EQ(layout.num_blocks(), 3);
  EXPECT_EQ(layout.size(2), 5);
  std::set<int64_t> offsets;
  for (int64_t k = 0; k < layout.num_blocks(); ++k)
    for (int64_t b = 0; b < layout.B; ++b)
      for (int64_t c = 0; c < layout.C; ++c)
        for (int64_t j = 0; j < layout.size(k); ++j) offsets.insert(layout.offset(k, b, c) + j);
  EXPECT_EQ(offsets.size(), size_t(3 * 2 * 37));
  EXPECT_EQ(*offsets.rbegin(), 3 * 2 * 37 - 1);
}

TEST(GaussianMahalanobis, SumsResidualsOverBlocks) {
  const gaussian::BlockLayout layout{2, 3, 20, 8};
  const auto y = random_values(2 * 3 * 20, 3);
  const auto m = random_values(3 * 20, 4);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t c = 0; c < 3; ++c) {
      double want = 0;
      for (int64_t k = 0; k < layout.num_blocks(); ++k)
        for (int64_t j = 0; j < layout.size(k); ++j) {
          const double r = y[layout.offset(k, b, c) + j] - m[c * 20 + layout.start(k) + j];
          want += r * r;
        }
      EXPECT_NEAR(gaussian::mahalanobis_sq(y.data(), m.data(), layout, b, c, 0, 1), want, 1e-12);
      double lanes = 0;
      for (int64_t lane = 0; lane < 32; ++lane) lanes += gaussian::mahalanobis_sq(y.data(), m.data(), layout, b, c, lane, 32);
      EXPECT_NEAR(lanes, want, 1e-12);
    }
  }
  EXPECT_EQ(gaussian::log_density(1.0, 4.0), -1.0);
}

TEST(DiagGaussian, TermsAndGradients) {
  const double x = 1.5, mu = 0.5, v = 4.0;
  EXPECT_NEAR(diag_gaussian::mahalanobis_term(x, mu, 1 / v), 0.25, 1e-15);
  EXPECT_NEAR(diag_gaussian::grad_x_term(x, mu, 1 / v), -0.25, 1e-15);
  // d/dv [−½ (x − μ)² / v] − ½ log v at v = 4: ½ (1/16 − 1/4).
  EXPECT_NEAR(diag_gaussian::grad_var_term(x, mu, 1 / v), 0.5 * (1.0 / 16 - 0.25), 1e-15);
}

TEST(CurvaturePairs, EnumerateEveryUnorderedPairOnce) {
  for (int64_t T : {1, 2, 5, 9}) {
    std::set<std::pair<int64_t, int64_t>> seen;
    for (int64_t p = 0; p < curvature::num_pairs(T); ++p) {
      int64_t t, u;
      curvature::pair_of(p, T, &t, &u);
      EXPECT_LE(t, u);
      EXPECT_LT(u, T);
      seen.insert({t, u});
    }
    EXPECT_EQ(seen.size(), size_t(T * (T + 1) / 2));
  }
}

TEST(CurvaturePairs, PairSumEqualsTheSquaredGradientForm) {
  // One sample, T = 3, identity bases: q = Σ_ij (Σ_t g_ti a_tj)² W_ij.
  const int64_t T = 3, Din = 4, Dout = 5, P = curvature::num_pairs(T);
  const auto a = random_values(T * Din, 5), g = random_values(T * Dout, 6), w = random_values(Dout * Din, 7);
  double want = 0;
  for (int64_t i = 0; i < Dout; ++i)
    for (int64_t j = 0; j < Din; ++j) {
      double m = 0;
      for (int64_t t = 0; t < T; ++t) m += g[t * Dout + i] * a[t * Din + j];
      want += m * m * w[i * Din + j];
    }
  std::vector<double> a_pairs(P * Din), V(P * Dout, 0.0);
  for (int64_t p = 0; p < P; ++p) curvature::pair_product(a.data(), a_pairs.data(), 0, p, T, Din, 1.0, 0, 1);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < Dout; ++i)
      for (int64_t j = 0; j < Din; ++j) V[p * Dout + i] += a_pairs[p * Din + j] * w[i * Din + j];
  double got = 0;
  for (int64_t p = 0; p < P; ++p) got += curvature::pair_term(g.data(), V.data(), 0, p, T, Dout, 0, 1);
  EXPECT_NEAR(got, want, 1e-10 * std::abs(want));
}

TEST(CurvatureWeightedSquares, MatchesLoop) {
  const auto m = random_values(100, 8), w = random_values(100, 9);
  double want = 0;
  for (int k = 0; k < 100; ++k) want += w[k] * m[k] * m[k];
  EXPECT_NEAR(curvature::weighted_sum_squares(m.data(), w.data(), 100, 0, 1), want, 1e-12);
}

TEST(ScoreNorms, BlockedSquaresAreAccurateInFloat) {
  // 2^22 terms of 0.1f: a single float accumulator would drift by ~1e-2 relative.
  const int64_t P = int64_t{1} << 22;
  std::vector<float> s(P, 0.1f);
  const double want = static_cast<double>(P) * static_cast<double>(0.1f) * static_cast<double>(0.1f);
  EXPECT_NEAR(score_norms::sum_squares(s.data(), P, 0, 1) / want, 1.0, 1e-6);
}

TEST(ScoreNorms, ResidualAndNorm) {
  const std::vector<double> s = {1.0, -2.0}, noisy = {0.5, 0.5}, clean = {0.25, 0.75};
  // r = s + (x̃ − x) · 4 = {2, −3}
  EXPECT_NEAR(score_norms::residual_squares(s.data(), noisy.data(), clean.data(), 4.0, 2, 0, 1), 13.0, 1e-14);
  EXPECT_NEAR(score_norms::row_norm(score_norms::Mode::kWeighted, 4.0, 0.5), 1.0, 1e-15);
  EXPECT_NEAR(score_norms::row_norm(score_norms::Mode::kResidual, 4.0, 0.5), 2.0, 1e-15);
}

}  // namespace
}  // namespace ood_ext
