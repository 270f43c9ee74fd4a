// A CLIP model: the vision tower, the text tower (either may be absent: students have one) and logit_scale.
// Names of its tensors are OpenAI's state-dict keys.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/clip/clip_config.h"
#include "common/clip/text_transformer.h"
#include "common/clip/vision_transformer.h"

namespace kd {

struct ClipModel {
  ClipConfig config;
  VisionTransformer visual{nullptr};  // null when !config.has_vision
  TextTransformer text{nullptr};      // null when !config.has_text
  torch::Tensor logit_scale;          // [] stored as a logarithm; the multiplier is exp(logit_scale)

  // Allocates the towers of `config` (validated first) with OpenAI's initialisation drawn from `seed`.
  static ClipModel create(const ClipConfig& config, uint64_t seed);

  // Every tensor under its OpenAI key (`visual.*`, `transformer.*`, ..., `logit_scale`), in registration order.
  // The tensors alias the parameters: copying into them loads weights.
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  // Trainable parameters of the present towers (logit_scale excluded).
  std::vector<torch::Tensor> parameters() const;

  void to(const torch::Device& device, torch::Dtype dtype);
  void eval();
  double logit_multiplier() const;  // exp(logit_scale)
};

}  // namespace kd
