// fast_linear (oneDNN fp32 linear, with a oneDNN backward under autograd) against at::linear: equal within float32
// rounding on the oneDNN route (forward and gradients), bit-identical on the fallback route (autocast, other dtypes).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <optional>

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

// Forward and gradients of x, weight and bias through fast_linear's oneDNN autograd route against at::linear's in
// float32 and float64: max|d|/max|ref| <= 1e-5 (float32 rounding; measured about 1e-6).
TEST(FastLinear, GradientsEqualAtLinearUnderAutograd) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no mkldnn: fast_linear is at::linear";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const std::vector<Case> cases = {{{200, 576}, 2304, true}, {{3, 50, 576}, 2304, true}, {{4, 49, 2304}, 576, false},
                                   {{7, 33}, 1, true},       {{16}, 32, true},           {{2, 3, 5, 64}, 48, false}};
  ASSERT_TRUE(at::GradMode::is_enabled());
  for (const Case& c : cases) {
    for (const bool x_grad : {true, false}) {
      const int64_t in = c.x_shape.back();
      at::Tensor x = at::randn(c.x_shape, gen);
      at::Tensor w = at::randn({c.out, in}, gen) * (1.0 / std::sqrt(double(in)));
      at::Tensor b = c.bias ? at::randn({c.out}, gen) : at::Tensor();
      std::vector<int64_t> y_shape(c.x_shape);
      y_shape.back() = c.out;
      at::Tensor gy = at::randn(y_shape, gen);  // upstream gradient [..., out]
      const std::string what = c10::str(x.sizes(), " x ", w.sizes(), c.bias ? " + bias" : "",
                                        x_grad ? ", x requires grad" : ", x constant");
      // run(dtype, fast): y and the gradients of x (if x_grad), w, b for the loss sum(y * gy).
      auto run = [&](at::ScalarType dtype, bool fast) {
        at::Tensor xl = x.to(dtype).detach().requires_grad_(x_grad), wl = w.to(dtype).detach().requires_grad_(true);
        at::Tensor bl = c.bias ? b.to(dtype).detach().requires_grad_(true) : at::Tensor();
        if (fast) EXPECT_TRUE(kd::fast_linear_applies(xl, wl, bl)) << what;
        at::Tensor y = fast ? kd::fast_linear(xl, wl, bl) : at::linear(xl, wl, bl);
        EXPECT_TRUE(y.requires_grad()) << what;
        (y * gy.to(dtype)).sum().backward();
        EXPECT_EQ(xl.grad().defined(), x_grad) << what;
        return std::vector<at::Tensor>{y.detach(), x_grad ? xl.grad() : at::Tensor(), wl.grad(),
                                       c.bias ? bl.grad() : at::Tensor()};
      };
      const std::vector<at::Tensor> got = run(at::kFloat, true), ref32 = run(at::kFloat, false),
                                    ref64 = run(at::kDouble, false);
      const char* names[] = {"y", "grad x", "grad w", "grad b"};
      for (size_t i = 0; i < got.size(); ++i) {
        if (!ref32[i].defined()) continue;
        ASSERT_TRUE(got[i].defined()) << what << " " << names[i];
        EXPECT_EQ(got[i].scalar_type(), at::kFloat) << what << " " << names[i];
        EXPECT_LE(relative_difference(got[i], ref32[i], what + ": " + names[i] + " vs at::linear"), 1e-5);
        EXPECT_LE(relative_difference(got[i], ref64[i], what + ": " + names[i] + " vs float64"), 1e-5);
      }
    }
  }
}

// Only the weight requiring grad, a non-contiguous input, and double backward (create_graph, which runs the backward
// through differentiable at::mm): equal to at::linear's within 1e-5.
TEST(FastLinear, NonContiguousInputAndDoubleBackward) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no mkldnn";
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  at::Tensor x0 = at::randn({5, 64, 12}, gen), w0 = at::randn({96, 64}, gen) * 0.125, b0 = at::randn({96}, gen);
  auto run = [&](bool fast) {
    at::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    at::Tensor b = b0.clone().requires_grad_(true);
    at::Tensor xt = x.transpose(1, 2);  // [5, 12, 64], not contiguous
    at::Tensor y = fast ? kd::fast_linear(xt, w, b) : at::linear(xt, w, b);
    at::Tensor gw = torch::autograd::grad({y.pow(2).sum()}, {w}, {}, true, true)[0];  // create_graph
    at::Tensor gx = torch::autograd::grad({gw.pow(2).sum()}, {x})[0];  // second order
    return std::vector<at::Tensor>{y.detach(), gw.detach(), gx};
  };
  const std::vector<at::Tensor> got = run(true), want = run(false);
  const char* names[] = {"y", "grad w (create_graph)", "grad x of |grad w|^2"};
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LE(relative_difference(got[i], want[i], std::string("transposed input: ") + names[i]), 1e-5);
  // Only the weight requiring grad: no grad for x is computed or stored.
  at::Tensor w = w0.clone().requires_grad_(true);
  kd::fast_linear(x0.transpose(1, 2), w).sum().backward();
  at::Tensor w2 = w0.clone().requires_grad_(true);
  at::linear(x0.transpose(1, 2), w2).sum().backward();
  EXPECT_LE(relative_difference(w.grad(), w2.grad(), "weight-only grad"), 1e-5);
}

// Under CPU autocast and for other dtypes fast_linear is at::linear, with grad too: bit-identical forward and grads.
TEST(FastLinear, FallsBackBitIdenticallyWithGradForOtherDtypesAndUnderAutocast) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(12);
  at::Tensor x0 = at::randn({3, 10, 64}, gen), w0 = at::randn({32, 64}, gen), b0 = at::randn({32}, gen);
  ASSERT_TRUE(at::GradMode::is_enabled());
  for (const int mode : {0, 1, 2}) {  // 0: bf16, 1: float64, 2: float32 under CPU bf16 autocast
    const at::ScalarType dtype = mode == 0 ? at::kBFloat16 : mode == 1 ? at::kDouble : at::kFloat;
    std::optional<kd::AutocastGuard> autocast;
    if (mode == 2) autocast.emplace(c10::DeviceType::CPU, at::kBFloat16);
    std::vector<at::Tensor> grads[2];
    at::Tensor ys[2];
    for (const bool fast : {true, false}) {
      at::Tensor x = x0.to(dtype).detach().requires_grad_(true), w = w0.to(dtype).detach().requires_grad_(true);
      at::Tensor b = b0.to(dtype).detach().requires_grad_(true);
      EXPECT_FALSE(kd::fast_linear_applies(x, w, b)) << mode;
      at::Tensor y = fast ? kd::fast_linear(x, w, b) : at::linear(x, w, b);
      y.sum().backward();
      ys[fast] = y.detach();
      grads[fast] = {x.grad(), w.grad(), b.grad()};
    }
    if (mode == 2) EXPECT_EQ(ys[1].scalar_type(), at::kBFloat16);  // autocast's cast happened, as with at::linear
    EXPECT_TRUE(at::equal(ys[1], ys[0])) << mode;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(at::equal(grads[1][i], grads[0][i])) << mode << " grad " << i;
  }
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
