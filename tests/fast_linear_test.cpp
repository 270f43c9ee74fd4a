// fast_linear (oneDNN fp32 inference linear) against at::linear: equal within float32 rounding on the oneDNN route,
// bit-identical on the fallback route (autograd, autocast, other dtypes).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>

#include "common/clip/fast_linear.h"
#include "common/distill/autocast_guard.h"

namespace {

// max |got - want| / max |want|, printed with the flat index of the largest difference.
double relative_difference(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  EXPECT_EQ(got.sizes(), want.sizes()) << what;
  at::Tensor diff = (got.to(at::kDouble) - want.to(at::kDouble)).abs();
  const double rel = diff.max().item<double>() / want.abs().max().item<double>();
  std::cout << "[fast_linear] " << what << ": max |diff| / max |ref| = " << rel << " at flat index "
            << diff.flatten().argmax().item<int64_t>() << "\n";
  return rel;
}

struct Case {
  std::vector<int64_t> x_shape;
  int64_t out;
  bool bias;
};

TEST(FastLinear, EqualsAtLinearWithoutAutograd) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no mkldnn: fast_linear is at::linear";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const std::vector<Case> cases = {{{400, 768}, 3072, true},   {{8, 50, 768}, 2304, true}, {{2, 3, 5, 64}, 48, false},
                                   {{1, 3072}, 768, true},     {{7, 33}, 1, true},         {{16}, 32, true},
                                   {{4, 49, 3072}, 768, false}};
  for (const Case& c : cases) {
    const int64_t in = c.x_shape.back();
    at::Tensor x = at::randn(c.x_shape, gen);
    at::Tensor w = at::randn({c.out, in}, gen) * (1.0 / std::sqrt(double(in)));
    at::Tensor b = c.bias ? at::randn({c.out}, gen) : at::Tensor();
    const std::string what = c10::str(x.sizes(), " x ", w.sizes(), c.bias ? " + bias" : "");
    at::NoGradGuard no_grad;
    ASSERT_TRUE(kd::fast_linear_applies(x, w, b)) << what;
    at::Tensor want = at::linear(x.to(at::kDouble), w.to(at::kDouble), c.bias ? b.to(at::kDouble) : b);
    at::Tensor got = kd::fast_linear(x, w, b);
    EXPECT_EQ(got.scalar_type(), at::kFloat) << what;
    EXPECT_TRUE(got.is_contiguous()) << what;
    // float32 accumulation over `in` terms: oneDNN measured about 1e-6 here, OpenBLAS about 3e-7.
    EXPECT_LE(relative_difference(got, want, what + " vs float64"), 1e-5) << what;
    EXPECT_LE(relative_difference(got, at::linear(x, w, b), what + " vs at::linear"), 1e-5) << what;
  }
}

TEST(FastLinear, TakesTheOneDnnRouteUnderInferenceModeAndNonContiguousInput) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no mkldnn";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(8);
  at::Tensor w = at::randn({96, 64}, gen), b = at::randn({96}, gen);
  at::Tensor x = at::randn({5, 64, 12}, gen).transpose(1, 2);  // [5, 12, 64], not contiguous
  c10::InferenceMode guard;
  ASSERT_TRUE(kd::fast_linear_applies(x, w, b));
  EXPECT_LE(relative_difference(kd::fast_linear(x, w, b), at::linear(x, w, b), "transposed input"), 1e-5);
}

TEST(FastLinear, FallsBackBitIdenticallyWhenGradIsNeeded) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  at::Tensor x = at::randn({3, 10, 64}, gen);
  at::Tensor w = at::randn({32, 64}, gen).requires_grad_(true);
  at::Tensor b = at::randn({32}, gen).requires_grad_(true);
  ASSERT_TRUE(at::GradMode::is_enabled());
  EXPECT_FALSE(kd::fast_linear_applies(x, w, b));
  at::Tensor got = kd::fast_linear(x, w, b);
  at::Tensor want = at::linear(x, w, b);
  EXPECT_TRUE(at::equal(got, want));
  ASSERT_TRUE(got.requires_grad());
  got.sum().backward();
  at::Tensor gw = w.grad().clone();
  w.mutable_grad().zero_();
  want.sum().backward();
  EXPECT_TRUE(at::equal(gw, w.grad()));
  // Only the input requiring grad is enough to fall back too.
  at::Tensor xg = x.clone().requires_grad_(true), wd = w.detach(), bd = b.detach();
  EXPECT_FALSE(kd::fast_linear_applies(xg, wd, bd));
  EXPECT_TRUE(at::equal(kd::fast_linear(xg, wd, bd), at::linear(xg, wd, bd)));
}

TEST(FastLinear, FallsBackForOtherDtypesAndUnderAutocast) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(10);
  at::Tensor x = at::randn({4, 16}, gen), w = at::randn({8, 16}, gen), b = at::randn({8}, gen);
  at::NoGradGuard no_grad;
  at::Tensor xb = x.to(at::kBFloat16), wb = w.to(at::kBFloat16), bb = b.to(at::kBFloat16);
  EXPECT_FALSE(kd::fast_linear_applies(xb, wb, bb));
  EXPECT_TRUE(at::equal(kd::fast_linear(xb, wb, bb), at::linear(xb, wb, bb)));
  at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
  EXPECT_FALSE(kd::fast_linear_applies(xd, wd));
  EXPECT_TRUE(at::equal(kd::fast_linear(xd, wd), at::linear(xd, wd)));
  kd::AutocastGuard autocast(c10::DeviceType::CPU, at::kBFloat16);
  EXPECT_FALSE(kd::fast_linear_applies(x, w, b));
  at::Tensor got = kd::fast_linear(x, w, b);
  EXPECT_EQ(got.scalar_type(), at::kBFloat16);  // autocast's cast happened, as with at::linear
  EXPECT_TRUE(at::equal(got, at::linear(x, w, b)));
}

TEST(FastLinear, FallsBackOnShapeMismatchSoAtLinearReportsIt) {
  at::Tensor x = at::ones({2, 5}), w = at::ones({3, 4});
  at::NoGradGuard no_grad;
  EXPECT_FALSE(kd::fast_linear_applies(x, w));
  EXPECT_ANY_THROW(kd::fast_linear(x, w));
}

}  // namespace
