// CLIP's text tower: token + positional embedding, causal blocks, ln_final at the end-of-text position, projection.
// Parameter names equal OpenAI's top-level keys (token_embedding.weight, positional_embedding, transformer.*, ...).
#pragma once

#include <torch/nn/modules/embedding.h>

#include "common/clip/clip_config.h"
#include "common/clip/residual_block.h"
#include "common/clip/vision_transformer.h"

namespace kd {

class TextTransformerImpl : public torch::nn::Module {
 public:
  TextTransformerImpl(const TextConfig& config, int64_t embed_dim, double layer_norm_eps);
  // tokens: [B, C] int32/int64 ids, C <= context_length. Pools at tokens.argmax(-1) as OpenAI does (the first
  // end-of-text token, 49407 being the largest id). Positions after the last pooled one cannot influence it (causal
  // mask), so the sequence is cut there: the result is identical and short captions run much faster.
  TowerOutput forward(const torch::Tensor& tokens);
  void init_weights(at::Generator& generator);

  TextConfig config;
  torch::nn::Embedding token_embedding{nullptr};  // [V, W]
  torch::Tensor positional_embedding;             // [C, W]
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
  torch::Tensor text_projection;                  // [W, D]
};
TORCH_MODULE(TextTransformer);

}  // namespace kd
