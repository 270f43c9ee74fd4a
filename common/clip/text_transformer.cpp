// Text transformer forward pass, cut at the last end-of-text position of the batch.
#include "common/clip/text_transformer.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/util/error.h"

namespace kd {

TextTransformerImpl::TextTransformerImpl(const TextConfig& c, int64_t embed_dim, double eps) : config(c) {
  const int64_t W = c.width;
  token_embedding = register_module("token_embedding", torch::nn::Embedding(c.vocab_size, W));
  positional_embedding = register_parameter("positional_embedding", at::zeros({c.context_length, W}));
  transformer = register_module("transformer", Transformer(W, c.n_layers, c.n_heads, c.mlp_width, eps));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({W}).eps(eps)));
  text_projection = register_parameter("text_projection", at::zeros({W, embed_dim}));
}

TowerOutput TextTransformerImpl::forward(const torch::Tensor& tokens) {
  if (tokens.dim() != 2 || tokens.size(1) > config.context_length || tokens.size(1) == 0)
    throw Error("text tower input has the wrong shape")
        .expected("[B, C] with 0 < C <= " + std::to_string(config.context_length))
        .got(c10::str(tokens.sizes()));
  at::Tensor ids = tokens.to(at::kLong);
  at::Tensor pool = ids.argmax(-1);                         // [B]
  const int64_t L = pool.max().item<int64_t>() + 1;         // positions that matter
  ids = ids.narrow(1, 0, L);                                // [B, L]
  at::Tensor x = token_embedding(ids) + positional_embedding.narrow(0, 0, L);  // [B, L, W]
  x = transformer->forward(x, /*causal=*/true);
  at::Tensor rows = at::arange(ids.size(0), pool.options());
  at::Tensor features = layer_norm(ln_final, x.index({rows, pool}));    // [B, W]
  return {features, at::matmul(features, text_projection)};  // [B, D]
}

void TextTransformerImpl::init_weights(at::Generator& gen) {
  at::NoGradGuard no_grad;
  token_embedding->weight.normal_(0.0, 0.02, gen);
  positional_embedding.normal_(0.0, 0.01, gen);
  text_projection.normal_(0.0, std::pow(double(config.width), -0.5), gen);
  ln_final->weight.fill_(1.0);
  ln_final->bias.zero_();
  transformer->init_weights(gen);
}

}  // namespace kd
