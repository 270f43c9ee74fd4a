// Learning-rate schedules: the seed's step decay and cosine with linear warmup.
#include "common/distill/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "common/util/error.h"

namespace kd {
namespace {

void require(bool ok, const char* key, const std::string& expected, double got) {
  if (!ok) throw Error("bad learning-rate schedule setting").key(key).expected(expected).got(std::to_string(got));
}

void check_lrs(double base_lr, double min_lr) {
  require(std::isfinite(base_lr) && base_lr >= 0, "base_lr", ">= 0", base_lr);
  require(std::isfinite(min_lr) && min_lr >= 0, "min_lr", ">= 0", min_lr);
}

}  // namespace

double step_decay_lr(double base_lr, int64_t epoch, int64_t decay_epochs, double rate, double min_lr) {
  check_lrs(base_lr, min_lr);
  require(decay_epochs > 0, "decay_epochs", "> 0", static_cast<double>(decay_epochs));
  require(std::isfinite(rate) && rate > 0, "rate", "> 0", rate);
  require(epoch >= 0, "epoch", ">= 0", static_cast<double>(epoch));
  const int64_t k = epoch / decay_epochs;
  return std::max(min_lr, base_lr * std::pow(rate, static_cast<double>(k)));
}

double cosine_warmup_lr(double base_lr, int64_t step, int64_t warmup_steps, int64_t total_steps, double min_lr) {
  check_lrs(base_lr, min_lr);
  require(warmup_steps >= 0, "warmup_steps", ">= 0", static_cast<double>(warmup_steps));
  require(total_steps > warmup_steps, "total_steps", "> warmup_steps", static_cast<double>(total_steps));
  require(step >= 0, "step", ">= 0", static_cast<double>(step));
  if (step < warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (step >= total_steps) return min_lr;
  const double progress =
      static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);  // [0, 1)
  return min_lr + 0.5 * (1.0 + std::cos(M_PI * progress)) * (base_lr - min_lr);
}

void validate(const LrScheduleConfig& c) {
  switch (c.kind) {
    case LrSchedule::kStep: step_decay_lr(c.base_lr, 0, c.decay_epochs, c.rate, c.min_lr); return;
    case LrSchedule::kCosine: cosine_warmup_lr(c.base_lr, 0, c.warmup_steps, c.total_steps, c.min_lr); return;
  }
  throw Error("unknown learning-rate schedule").got(std::to_string(static_cast<int>(c.kind)));
}

double learning_rate(const LrScheduleConfig& c, int64_t step, int64_t steps_per_epoch) {
  if (c.kind == LrSchedule::kStep) {
    require(steps_per_epoch > 0, "steps_per_epoch", "> 0", static_cast<double>(steps_per_epoch));
    require(step >= 0, "step", ">= 0", static_cast<double>(step));
    return step_decay_lr(c.base_lr, step / steps_per_epoch, c.decay_epochs, c.rate, c.min_lr);
  }
  return cosine_warmup_lr(c.base_lr, step, c.warmup_steps, c.total_steps, c.min_lr);
}

}  // namespace kd
