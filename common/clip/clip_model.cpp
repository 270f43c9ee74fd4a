// ClipModel: creation, OpenAI-named tensor listing, device/dtype moves.
#include "common/clip/clip_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace kd {

ClipModel ClipModel::create(const ClipConfig& config, uint64_t seed) {
  validate_clip_config(config);
  ClipModel m;
  m.config = config;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (config.has_vision) {
    m.visual = VisionTransformer(config.vision, config.embed_dim, config.layer_norm_eps);
    m.visual->init_weights(gen);
  }
  if (config.has_text) {
    m.text = TextTransformer(config.text, config.embed_dim, config.layer_norm_eps);
    m.text->init_weights(gen);
  }
  m.logit_scale = at::full({}, std::log(1.0 / 0.07), at::kFloat);
  return m;
}

std::vector<std::pair<std::string, torch::Tensor>> ClipModel::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (config.has_text) {
    out.emplace_back("positional_embedding", text->positional_embedding);
    out.emplace_back("text_projection", text->text_projection);
  }
  if (config.has_vision && config.has_text) out.emplace_back("logit_scale", logit_scale);
  if (config.has_vision)
    for (const auto& p : visual->named_parameters()) out.emplace_back("visual." + p.key(), p.value());
  if (config.has_text)
    for (const auto& p : text->named_parameters())
      if (p.key() != "positional_embedding" && p.key() != "text_projection") out.emplace_back(p.key(), p.value());
  return out;
}

std::vector<torch::Tensor> ClipModel::parameters() const {
  std::vector<torch::Tensor> out;
  if (config.has_vision)
    for (auto& p : visual->parameters()) out.push_back(p);
  if (config.has_text)
    for (auto& p : text->parameters()) out.push_back(p);
  return out;
}

void ClipModel::to(const torch::Device& device, torch::Dtype dtype) {
  if (config.has_vision) visual->to(device, dtype);
  if (config.has_text) text->to(device, dtype);
  logit_scale = logit_scale.to(device, at::kFloat);
}

void ClipModel::eval() {
  if (config.has_vision) visual->eval();
  if (config.has_text) text->eval();
}

double ClipModel::logit_multiplier() const { return std::exp(logit_scale.item<double>()); }

}  // namespace kd
