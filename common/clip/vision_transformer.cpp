// Vision transformer forward pass; patchify is a reshape + matmul, identical to a stride-P convolution.
#include "common/clip/vision_transformer.h"

#include "common/clip/fast_linear.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/util/error.h"

namespace kd {

VisionTransformerImpl::VisionTransformerImpl(const VisionConfig& c, int64_t embed_dim, double eps) : config(c) {
  const int64_t W = c.width;
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({W}).eps(eps)); };
  // A holder module named conv1 keeps the checkpoint key `conv1.weight` without using Conv2d's kernel.
  auto conv1 = register_module("conv1", std::make_shared<torch::nn::Module>());
  conv1_weight = conv1->register_parameter("weight", at::empty({W, 3, c.patch_size, c.patch_size}));
  class_embedding = register_parameter("class_embedding", at::zeros({W}));
  positional_embedding = register_parameter("positional_embedding", at::zeros({c.n_patches() + 1, W}));
  ln_pre = register_module("ln_pre", ln());
  transformer = register_module("transformer", Transformer(W, c.n_layers, c.n_heads, c.mlp_width, eps));
  ln_post = register_module("ln_post", ln());
  proj = register_parameter("proj", at::zeros({W, embed_dim}));
}

TowerOutput VisionTransformerImpl::forward(const torch::Tensor& pixels) {
  const int64_t R = config.image_size, P = config.patch_size, G = R / P, W = config.width;
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != R || pixels.size(3) != R)
    throw Error("vision tower input has the wrong shape")
        .expected("[B, 3, " + std::to_string(R) + ", " + std::to_string(R) + "]")
        .got(c10::str(pixels.sizes()));
  const int64_t B = pixels.size(0);
  // [B, 3, G, P, G, P] -> [B, G, G, 3, P, P] -> [B, G*G, 3*P*P]
  at::Tensor patches = pixels.view({B, 3, G, P, G, P}).permute({0, 2, 4, 1, 3, 5}).reshape({B, G * G, 3 * P * P});
  at::Tensor x = fast_linear(patches, conv1_weight.view({W, 3 * P * P}));  // [B, G*G, W]
  at::Tensor cls = class_embedding.to(x.dtype()).view({1, 1, W}).expand({B, 1, W});
  x = at::cat({cls, x}, 1) + positional_embedding.to(x.dtype());  // [B, G*G + 1, W]
  x = transformer->forward(layer_norm(ln_pre, x), /*causal=*/false);
  at::Tensor features = layer_norm(ln_post, x.select(1, 0));  // [B, W]
  return {features, at::matmul(features, proj)};  // [B, D]
}

void VisionTransformerImpl::init_weights(at::Generator& gen) {
  at::NoGradGuard no_grad;
  const double scale = std::pow(double(config.width), -0.5);
  conv1_weight.normal_(0.0, std::pow(3.0 * config.patch_size * config.patch_size, -0.5), gen);
  class_embedding.normal_(0.0, scale, gen);
  positional_embedding.normal_(0.0, scale, gen);
  proj.normal_(0.0, scale, gen);
  for (auto* ln : {&ln_pre, &ln_post}) {
    (*ln)->weight.fill_(1.0);
    (*ln)->bias.zero_();
  }
  transformer->init_weights(gen);
}

}  // namespace kd
