// OptimizerStep: schedule -> lr, scaled backward, all-reduce, unscale/check, clip, AdamW, scaler update.
#include "common/distill/optimizer_step.h"

#include <torch/nn/utils/clip_grad.h>

#include "common/distill/process_group.h"
#include "common/util/error.h"

namespace kd {
namespace {

std::vector<torch::Tensor> all_params(const std::vector<torch::optim::OptimizerParamGroup>& groups) {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups) out.insert(out.end(), g.params().begin(), g.params().end());
  return out;
}

LossScalerOptions scaler_options(bool enabled) {
  LossScalerOptions o;
  o.enabled = enabled;
  return o;
}

}  // namespace

OptimizerStep::OptimizerStep(std::vector<torch::optim::OptimizerParamGroup> groups, OptimizerStepOptions options)
    : options_(std::move(options)), params_(all_params(groups)), optimizer_(std::move(groups)),
      scaler_(scaler_options(options_.loss_scaling)) {
  validate(options_.schedule);
  if (!options_.lr_factors.empty() && options_.lr_factors.size() != optimizer_.param_groups().size())
    throw Error("one learning-rate factor per parameter group").key("lr_factors")
        .expected(std::to_string(optimizer_.param_groups().size())).got(std::to_string(options_.lr_factors.size()));
  if (!(options_.clip_grad_norm >= 0)) throw Error("must be >= 0").key("clip_grad_norm");
}

double OptimizerStep::set_lr(int64_t step) {
  const double lr = learning_rate(options_.schedule, step, options_.steps_per_epoch);
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const double factor = options_.lr_factors.empty() ? 1.0 : options_.lr_factors[g];
    static_cast<torch::optim::AdamWOptions&>(groups[g].options()).lr(lr * factor);
  }
  return lr;
}

bool OptimizerStep::apply(const torch::Tensor& loss, DistContext* dist) {
  optimizer_.zero_grad();
  scaler_.scale_loss(loss).backward();
  if (dist) dist->allreduce_gradients(params_);
  bool finite = true;
  if (scaler_.enabled()) finite = scaler_.unscale_and_check(params_);
  if (finite && options_.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(params_, options_.clip_grad_norm);
  if (finite) optimizer_.step();
  if (scaler_.enabled()) scaler_.update(!finite);
  return finite;
}

}  // namespace kd
