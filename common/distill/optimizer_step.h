// One optimiser step as kd trains, shared by kd-train's session and the demo teacher: learning rate from the
// schedule (per parameter group, times a factor), backward of the (loss-scaled) loss, gradient all-reduce over the
// processes, unscale and finiteness check (fp16), gradient clipping, AdamW step, loss-scaler update.
#pragma once

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "common/distill/loss_scaler.h"
#include "common/distill/lr_schedule.h"

namespace kd {

class DistContext;

struct OptimizerStepOptions {
  LrScheduleConfig schedule;        // validated here
  int64_t steps_per_epoch = 1;      // the step schedule counts epochs
  double clip_grad_norm = 0;        // max global L2 norm of the gradients; 0: off
  bool loss_scaling = false;        // fp16: dynamic loss scaling (loss_scaler.h); else the scale stays 1
  std::vector<double> lr_factors;   // group i's lr = schedule lr × lr_factors[i]; empty: 1 for every group
};

class OptimizerStep {
 public:
  // `groups`: AdamW parameter groups (param_groups.h: adamw_param_groups), with their weight decay and betas.
  OptimizerStep(std::vector<torch::optim::OptimizerParamGroup> groups, OptimizerStepOptions options);

  // Sets every group's learning rate for optimiser step `step` (from 0); returns the schedule's rate.
  double set_lr(int64_t step);

  // zero_grad, backward of scale·loss (loss: 0-d), mean of the gradients over `dist`'s processes (null: one
  // process), then with loss scaling: unscale and skip the step when a gradient is not finite; clip; AdamW step;
  // scaler update. Returns false when the step was skipped.
  bool apply(const torch::Tensor& loss, DistContext* dist = nullptr);

  torch::optim::AdamW& optimizer() { return optimizer_; }
  LossScaler& scaler() { return scaler_; }
  const LrScheduleConfig& schedule() const { return options_.schedule; }
  const std::vector<torch::Tensor>& params() const { return params_; }  // every group's, in group order

 private:
  OptimizerStepOptions options_;
  std::vector<torch::Tensor> params_;
  torch::optim::AdamW optimizer_;
  LossScaler scaler_;
};

}  // namespace kd
