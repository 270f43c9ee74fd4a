// Dynamic loss scaling for float16 training: scale the loss up, unscale the gradients, skip steps whose gradients
// overflowed, and adapt the scale (halve on overflow, double after a run of good steps).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace kd {

struct LossScalerOptions {
  bool enabled = true;            // false (float32/bfloat16 runs): scale stays 1, only the finiteness check runs
  double init_scale = 65536.0;    // 2^16
  double growth_factor = 2.0;     // > 1
  double backoff_factor = 0.5;    // in (0, 1)
  int64_t growth_interval = 2000; // consecutive good steps before growing
  double min_scale = 1.0;         // backoff never goes below this (guards against a scale of 0 after a NaN storm)
};

// Everything a run checkpoint needs to resume the scaler exactly.
struct LossScalerState {
  double scale = 65536.0;
  int64_t good_steps = 0;     // consecutive good steps since the last growth or backoff
  int64_t skipped_steps = 0;  // total steps skipped because of non-finite gradients (for metrics)
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});  // throws kd::Error on bad options

  double scale() const { return state_.scale; }
  bool enabled() const { return options_.enabled; }

  // loss · scale (loss unchanged when disabled). Any device and dtype; the result has loss's dtype.
  torch::Tensor scale_loss(const torch::Tensor& loss) const;

  // For each parameter with a defined .grad(): grad ← grad / scale, in place, without autograd. Returns true if
  // every gradient is finite afterwards, false if any holds inf or NaN (then do not step the optimiser).
  // One host synchronisation per device.
  bool unscale_and_check(const std::vector<torch::Tensor>& params) const;

  // After each step attempt: found_inf → scale·backoff (≥ min_scale), good-step run reset, skipped_steps+1;
  // otherwise good_steps+1, and at growth_interval the scale grows by growth_factor (if that stays finite).
  void update(bool found_inf);

  const LossScalerState& state() const { return state_; }
  void load_state(const LossScalerState& s);  // throws kd::Error on a non-positive/non-finite scale or negative counts

 private:
  LossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace kd
