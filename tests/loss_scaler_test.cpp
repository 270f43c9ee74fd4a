// Dynamic loss scaling: overflow skips the step and halves the scale; a run of good steps doubles it.
#include "common/distill/loss_scaler.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <limits>

#include "common/util/error.h"

namespace {

// A parameter [3] whose gradient is `g`.
torch::Tensor param_with_grad(std::vector<float> g) {
  auto p = torch::zeros({static_cast<int64_t>(g.size())}, torch::kFloat).requires_grad_(true);
  p.mutable_grad() = torch::tensor(g, torch::kFloat);
  return p;
}

}  // namespace

TEST(LossScaler, ScalesLossAndUnscalesGrads) {
  kd::LossScaler scaler;  // 2^16
  EXPECT_DOUBLE_EQ(scaler.scale(), 65536.0);
  EXPECT_FLOAT_EQ(scaler.scale_loss(torch::tensor(0.5f)).item<float>(), 32768.0f);
  auto p = param_with_grad({65536.0f, -131072.0f, 0.0f});
  auto no_grad = torch::zeros({2}, torch::kFloat).requires_grad_(true);  // no .grad(): ignored
  EXPECT_TRUE(scaler.unscale_and_check({p, no_grad}));
  auto g = p.grad();
  EXPECT_FLOAT_EQ(g[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g[1].item<float>(), -2.0f);
  EXPECT_FLOAT_EQ(g[2].item<float>(), 0.0f);
}

TEST(LossScaler, InfOrNanSkipsStepAndHalvesScale) {
  kd::LossScaler scaler;
  auto ok = param_with_grad({1, 2, 3});
  auto inf = param_with_grad({1, std::numeric_limits<float>::infinity(), 3});
  EXPECT_FALSE(scaler.unscale_and_check({ok, inf}));
  scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.scale(), 32768.0);
  EXPECT_EQ(scaler.state().skipped_steps, 1);
  auto nan = param_with_grad({std::numeric_limits<float>::quiet_NaN(), 0, 0});
  EXPECT_FALSE(scaler.unscale_and_check({nan}));
  scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.scale(), 16384.0);
  EXPECT_EQ(scaler.state().skipped_steps, 2);
  EXPECT_EQ(scaler.state().good_steps, 0);
}

TEST(LossScaler, GrowsAfterIntervalOfGoodStepsAndResetsOnOverflow) {
  kd::LossScalerOptions o;
  o.init_scale = 8.0;
  o.growth_interval = 3;
  kd::LossScaler scaler(o);
  scaler.update(false);
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 8.0);  // 2 good steps: not yet
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 16.0);  // 3rd good step: ×2
  EXPECT_EQ(scaler.state().good_steps, 0);
  scaler.update(false);
  scaler.update(false);
  scaler.update(true);                    // overflow resets the run: 16 → 8
  EXPECT_DOUBLE_EQ(scaler.scale(), 8.0);
  scaler.update(false);
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 8.0);  // only 2 good steps since the overflow
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 16.0);
}

TEST(LossScaler, DefaultGrowthIntervalIs2000AndBackoffIsFloored) {
  kd::LossScaler scaler;
  for (int i = 0; i < 1999; ++i) scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 65536.0);
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 131072.0);
  for (int i = 0; i < 40; ++i) scaler.update(true);  // 2^17 · 2^-40 would be < 1: floored at min_scale 1
  EXPECT_DOUBLE_EQ(scaler.scale(), 1.0);
}

TEST(LossScaler, StateRoundTripsAndIsValidated) {
  kd::LossScalerOptions o;
  o.growth_interval = 4;
  kd::LossScaler a(o);
  a.update(true);
  a.update(false);
  a.update(false);
  kd::LossScalerState s = a.state();  // scale 32768, good 2, skipped 1
  EXPECT_DOUBLE_EQ(s.scale, 32768.0);
  EXPECT_EQ(s.good_steps, 2);
  EXPECT_EQ(s.skipped_steps, 1);
  kd::LossScaler b(o);
  b.load_state(s);
  b.update(false);
  b.update(false);  // 4th good step after the restore: grows, as `a` would
  EXPECT_DOUBLE_EQ(b.scale(), 65536.0);
  EXPECT_THROW(b.load_state({0.0, 0, 0}), kd::Error);
  EXPECT_THROW(b.load_state({std::numeric_limits<double>::infinity(), 0, 0}), kd::Error);
  EXPECT_THROW(b.load_state({1.0, -1, 0}), kd::Error);
  kd::LossScalerOptions bad;
  bad.backoff_factor = 1.5;
  EXPECT_THROW(kd::LossScaler{bad}, kd::Error);
}

TEST(LossScaler, DisabledKeepsScaleOneButStillDetectsOverflow) {
  kd::LossScalerOptions o;
  o.enabled = false;
  kd::LossScaler scaler(o);
  EXPECT_DOUBLE_EQ(scaler.scale(), 1.0);
  EXPECT_FLOAT_EQ(scaler.scale_loss(torch::tensor(3.0f)).item<float>(), 3.0f);
  auto p = param_with_grad({4, 5, 6});
  EXPECT_TRUE(scaler.unscale_and_check({p}));
  EXPECT_FLOAT_EQ(p.grad()[1].item<float>(), 5.0f);
  auto inf = param_with_grad({std::numeric_limits<float>::infinity(), 0, 0});
  EXPECT_FALSE(scaler.unscale_and_check({inf}));
  scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.scale(), 1.0);
  EXPECT_EQ(scaler.state().skipped_steps, 1);
}
