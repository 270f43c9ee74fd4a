// CLIP's vision tower: patch embedding (conv without bias), class token, positional embedding, ln_pre, blocks,
// ln_post on the class token, projection. Parameter names equal OpenAI's keys under `visual.`.
#pragma once

#include "common/clip/clip_config.h"
#include "common/clip/residual_block.h"

namespace kd {

struct TowerOutput {
  torch::Tensor features;  // [B, W] pooled, pre-projection (ln_post of the class token / ln_final at EOT)
  torch::Tensor embeds;    // [B, D] projected, not normalised
};

class VisionTransformerImpl : public torch::nn::Module {
 public:
  VisionTransformerImpl(const VisionConfig& config, int64_t embed_dim, double layer_norm_eps);
  // pixels: [B, 3, R, R] normalised CLIP pixels, R = config.image_size.
  TowerOutput forward(const torch::Tensor& pixels);
  // OpenAI's initialisation, drawn from `generator` (students trained from scratch).
  void init_weights(at::Generator& generator);

  VisionConfig config;
  torch::Tensor conv1_weight;          // [W, 3, P, P] registered as "conv1.weight"
  torch::Tensor class_embedding;       // [W]
  torch::Tensor positional_embedding;  // [G*G + 1, W]
  torch::Tensor proj;                  // [W, D]
  torch::nn::LayerNorm ln_pre{nullptr}, ln_post{nullptr};
  Transformer transformer{nullptr};
};
TORCH_MODULE(VisionTransformer);

}  // namespace kd
