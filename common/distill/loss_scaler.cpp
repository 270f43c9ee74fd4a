// Dynamic loss scaling for float16 training (see loss_scaler.h).
#include "common/distill/loss_scaler.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <string>

#include "common/util/error.h"

namespace kd {
namespace {

void require(bool ok, const char* key, const char* expected, double got) {
  if (!ok) throw Error("bad loss scaler setting").key(key).expected(expected).got(std::to_string(got));
}

}  // namespace

LossScaler::LossScaler(LossScalerOptions o) : options_(o) {
  require(std::isfinite(o.init_scale) && o.init_scale > 0, "init_scale", "> 0", o.init_scale);
  require(std::isfinite(o.growth_factor) && o.growth_factor > 1, "growth_factor", "> 1", o.growth_factor);
  require(o.backoff_factor > 0 && o.backoff_factor < 1, "backoff_factor", "in (0, 1)", o.backoff_factor);
  require(o.growth_interval > 0, "growth_interval", "> 0", static_cast<double>(o.growth_interval));
  require(std::isfinite(o.min_scale) && o.min_scale > 0, "min_scale", "> 0", o.min_scale);
  state_.scale = o.enabled ? o.init_scale : 1.0;
}

torch::Tensor LossScaler::scale_loss(const torch::Tensor& loss) const {
  return options_.enabled ? loss * state_.scale : loss;
}

bool LossScaler::unscale_and_check(const std::vector<torch::Tensor>& params) const {
  at::NoGradGuard no_grad;
  const double inv = 1.0 / state_.scale;
  std::map<std::string, std::vector<at::Tensor>> non_finite_by_device;  // 0-d bool per grad
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (options_.enabled) g.mul_(inv);
    non_finite_by_device[g.device().str()].push_back(at::logical_not(at::isfinite(g)).any());
  }
  for (auto& [device, flags] : non_finite_by_device)
    if (at::stack(flags).any().item<bool>()) return false;
  return true;
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    ++state_.skipped_steps;
    state_.good_steps = 0;
    if (options_.enabled) state_.scale = std::max(options_.min_scale, state_.scale * options_.backoff_factor);
    return;
  }
  if (!options_.enabled) return;
  if (++state_.good_steps >= options_.growth_interval) {
    const double grown = state_.scale * options_.growth_factor;
    if (std::isfinite(grown)) state_.scale = grown;
    state_.good_steps = 0;
  }
}

void LossScaler::load_state(const LossScalerState& s) {
  if (!(std::isfinite(s.scale) && s.scale > 0))
    throw Error("loss scaler state has a bad scale").key("scale").expected("finite > 0").got(std::to_string(s.scale));
  if (s.good_steps < 0 || s.skipped_steps < 0)
    throw Error("loss scaler state has a negative counter").key("good_steps/skipped_steps")
        .got(std::to_string(s.good_steps) + "/" + std::to_string(s.skipped_steps));
  state_ = s;
  if (!options_.enabled) state_.scale = 1.0;
}

}  // namespace kd
