// Residual attention block, its attention and MLP, and the block stack.
#include "common/clip/residual_block.h"

#include "common/clip/fast_linear.h"

#include <torch/version.h>

#include <ATen/ATen.h>

#include <cmath>

namespace kd {

torch::Tensor quick_gelu(const torch::Tensor& x) { return x * at::sigmoid(x * 1.702); }

torch::Tensor layer_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x) {
  const at::ScalarType want = ln->weight.scalar_type();
  return ln(x.scalar_type() == want ? x : x.to(want));
}

SelfAttentionImpl::SelfAttentionImpl(int64_t width, int64_t n_heads_) : n_heads(n_heads_) {
  in_proj_weight = register_parameter("in_proj_weight", at::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", at::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, bool causal) {
  const int64_t B = x.size(0), L = x.size(1), W = x.size(2), H = n_heads, Dh = W / H;
  // [B, L, 3W] -> [3, B, H, L, Dh]
  at::Tensor qkv = fast_linear(x, in_proj_weight, in_proj_bias).view({B, L, 3, H, Dh}).permute({2, 0, 3, 1, 4});
  at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B, H, L, Dh]
  at::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
  out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/causal);
#else
  // scores = q k^T / sqrt(Dh): [B*H, L, L]
  at::Tensor q3 = q.reshape({B * H, L, Dh}), k3 = k.reshape({B * H, L, Dh}), v3 = v.reshape({B * H, L, Dh});
  at::Tensor scores;
  if (causal) {
    at::Tensor mask = at::full({L, L}, -std::numeric_limits<float>::infinity(), x.options()).triu_(1);
    scores = at::baddbmm(mask, q3, k3.transpose(1, 2), /*beta=*/1.0, /*alpha=*/1.0 / std::sqrt(double(Dh)));
  } else {
    scores = at::bmm(q3, k3.transpose(1, 2)).mul_(1.0 / std::sqrt(double(Dh)));
  }
  out = at::bmm(at::softmax(scores, -1), v3).view({B, H, L, Dh});
#endif
  return fast_linear(out.transpose(1, 2).reshape({B, L, W}), out_proj->weight, out_proj->bias);  // [B, L, W]
}

MlpImpl::MlpImpl(int64_t width, int64_t mlp_width) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, mlp_width));
  c_proj = register_module("c_proj", torch::nn::Linear(mlp_width, width));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return fast_linear(quick_gelu(fast_linear(x, c_fc->weight, c_fc->bias)), c_proj->weight, c_proj->bias);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t width, int64_t n_heads, int64_t mlp_width, double eps) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps)); };
  attn = register_module("attn", SelfAttention(width, n_heads));
  ln_1 = register_module("ln_1", ln());
  mlp = register_module("mlp", Mlp(width, mlp_width));
  ln_2 = register_module("ln_2", ln());
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, bool causal) {
  torch::Tensor h = x + attn->forward(layer_norm(ln_1, x), causal);
  return h + mlp(layer_norm(ln_2, h));
}

TransformerImpl::TransformerImpl(int64_t width_, int64_t n_layers_, int64_t n_heads, int64_t mlp_width, double eps)
    : width(width_), n_layers(n_layers_) {
  for (int64_t i = 0; i < n_layers; ++i) resblocks->push_back(ResidualBlock(width, n_heads, mlp_width, eps));
  register_module("resblocks", resblocks);
}

torch::Tensor TransformerImpl::forward(torch::Tensor x, bool causal) {
  for (const auto& m : *resblocks) x = m->as<ResidualBlock>()->forward(x, causal);
  return x;
}

void TransformerImpl::init_weights(at::Generator& gen) {
  at::NoGradGuard no_grad;
  const double proj_std = std::pow(double(width), -0.5) * std::pow(2.0 * double(n_layers), -0.5);
  const double attn_std = std::pow(double(width), -0.5);
  const double fc_std = std::pow(2.0 * double(width), -0.5);
  for (const auto& m : *resblocks) {
    auto* b = m->as<ResidualBlock>();
    b->attn->in_proj_weight.normal_(0.0, attn_std, gen);
    b->attn->in_proj_bias.zero_();
    b->attn->out_proj->weight.normal_(0.0, proj_std, gen);
    b->attn->out_proj->bias.zero_();
    b->mlp->c_fc->weight.normal_(0.0, fc_std, gen);
    b->mlp->c_fc->bias.zero_();
    b->mlp->c_proj->weight.normal_(0.0, proj_std, gen);
    b->mlp->c_proj->bias.zero_();
    for (auto* ln : {&b->ln_1, &b->ln_2}) {
      (*ln)->weight.fill_(1.0);
      (*ln)->bias.zero_();
    }
  }
}

}  // namespace kd
