// Learning-rate schedules against hand values.
#include "common/distill/lr_schedule.h"

#include <gtest/gtest.h>

#include "common/util/error.h"

TEST(LrSchedule, StepDecayHandValues) {
  // base 1e-3, rate 0.5 every 3 epochs, floor 1e-4:
  // epochs 0-2 → 1e-3; 3-5 → 5e-4; 6-8 → 2.5e-4; 9-11 → 1.25e-4; 12 → 6.25e-5 floored to 1e-4.
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 0, 3, 0.5, 1e-4), 1e-3);
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 2, 3, 0.5, 1e-4), 1e-3);
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 3, 3, 0.5, 1e-4), 5e-4);
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 8, 3, 0.5, 1e-4), 2.5e-4);
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 9, 3, 0.5, 1e-4), 1.25e-4);
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 12, 3, 0.5, 1e-4), 1e-4);
  EXPECT_DOUBLE_EQ(kd::step_decay_lr(1e-3, 1000, 3, 0.5, 1e-4), 1e-4);
}

TEST(LrSchedule, CosineWarmupHandValues) {
  // base 1.0, min 0.1, warmup 4, total 12 (8 cosine steps).
  // warmup: (s+1)/4 → 0.25, 0.5, 0.75, 1.0 at steps 0..3.
  EXPECT_DOUBLE_EQ(kd::cosine_warmup_lr(1.0, 0, 4, 12, 0.1), 0.25);
  EXPECT_DOUBLE_EQ(kd::cosine_warmup_lr(1.0, 3, 4, 12, 0.1), 1.0);
  // step 4: progress 0 → 1.0. step 8: progress ½ → 0.1 + ½·0.9 = 0.55.
  // step 6: progress ¼ → 0.1 + ½(1 + cos(π/4))·0.9 = 0.1 + 0.45·(1 + 0.7071068) = 0.868198.
  // step 11: progress ⅞ → 0.1 + 0.45·(1 + cos(7π/8)) = 0.1 + 0.45·(1 − 0.9238795) = 0.134254.
  EXPECT_DOUBLE_EQ(kd::cosine_warmup_lr(1.0, 4, 4, 12, 0.1), 1.0);
  EXPECT_NEAR(kd::cosine_warmup_lr(1.0, 8, 4, 12, 0.1), 0.55, 1e-12);
  EXPECT_NEAR(kd::cosine_warmup_lr(1.0, 6, 4, 12, 0.1), 0.8681981, 1e-7);
  EXPECT_NEAR(kd::cosine_warmup_lr(1.0, 11, 4, 12, 0.1), 0.1342542, 1e-7);
  EXPECT_DOUBLE_EQ(kd::cosine_warmup_lr(1.0, 12, 4, 12, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(kd::cosine_warmup_lr(1.0, 99, 4, 12, 0.1), 0.1);
  // No warmup: step 0 is base_lr.
  EXPECT_DOUBLE_EQ(kd::cosine_warmup_lr(2.0, 0, 0, 10, 0.0), 2.0);
}

TEST(LrSchedule, ConfigDispatchAndErrors) {
  kd::LrScheduleConfig step;
  step.kind = kd::LrSchedule::kStep;
  step.base_lr = 1e-3;
  step.decay_epochs = 2;
  step.rate = 0.1;
  step.min_lr = 0;
  // 10 steps per epoch: step 25 → epoch 2 → 1e-3 · 0.1.
  EXPECT_NEAR(kd::learning_rate(step, 25, 10), 1e-4, 1e-18);
  EXPECT_DOUBLE_EQ(kd::learning_rate(step, 19, 10), 1e-3);

  kd::LrScheduleConfig cos;
  cos.base_lr = 1.0;
  cos.warmup_steps = 2;
  cos.total_steps = 6;
  EXPECT_DOUBLE_EQ(kd::learning_rate(cos, 0, 1), 0.5);
  EXPECT_NEAR(kd::learning_rate(cos, 4, 1), 0.5, 1e-12);

  EXPECT_THROW(kd::parse_enum<kd::LrSchedule>("linear", "--lr_scheduler"), kd::Error);
  EXPECT_EQ(kd::parse_enum<kd::LrSchedule>("step", "--lr_scheduler"), kd::LrSchedule::kStep);
  kd::LrScheduleConfig bad = cos;
  bad.total_steps = 2;
  EXPECT_THROW(kd::validate(bad), kd::Error);
  EXPECT_THROW(kd::step_decay_lr(1e-3, 0, 0, 0.5, 0), kd::Error);
  EXPECT_THROW(kd::step_decay_lr(1e-3, 0, 1, 0.0, 0), kd::Error);
  EXPECT_NO_THROW(kd::validate(step));
}
