// Learning-rate schedules as pure functions of the step or epoch: the seed's step decay, and cosine with warmup.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/util/enum_names.h"

namespace kd {

enum class LrSchedule { kStep, kCosine };
inline const std::vector<EnumSpelling<LrSchedule>>& enum_spellings(LrSchedule) {  // --lr_scheduler
  static const std::vector<EnumSpelling<LrSchedule>> kNames = {{LrSchedule::kStep, {"step"}},
                                                              {LrSchedule::kCosine, {"cosine"}}};
  return kNames;
}

// Seed schedule: lr = max(min_lr, base_lr · rate^floor(epoch / decay_epochs)). epoch counts from 0.
// decay_epochs > 0, 0 < rate; throws kd::Error otherwise.
double step_decay_lr(double base_lr, int64_t epoch, int64_t decay_epochs, double rate, double min_lr);

// Linear warmup then cosine decay to min_lr, indexed by optimiser step (from 0):
//   step < warmup:          base_lr · (step + 1) / warmup            (reaches base_lr on the last warmup step)
//   warmup ≤ step < total:  min_lr + ½(1 + cos(π·(step − warmup)/(total − warmup)))·(base_lr − min_lr)
//   step ≥ total:           min_lr
// warmup ≥ 0, total > warmup; throws kd::Error otherwise.
double cosine_warmup_lr(double base_lr, int64_t step, int64_t warmup_steps, int64_t total_steps, double min_lr);

// One of the two, as configured by a run.
struct LrScheduleConfig {
  LrSchedule kind = LrSchedule::kCosine;
  double base_lr = 1e-4;
  double min_lr = 0.0;
  // cosine
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  // step
  int64_t decay_epochs = 1;
  double rate = 1.0;
};

// Validates the whole config (bad numbers → kd::Error) without computing anything.
void validate(const LrScheduleConfig& c);

// The learning rate at optimiser `step` (from 0); the step schedule uses epoch = step / steps_per_epoch.
double learning_rate(const LrScheduleConfig& c, int64_t step, int64_t steps_per_epoch);

}  // namespace kd
