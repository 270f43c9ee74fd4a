// CLIP's pre-LayerNorm residual attention block: x + attn(ln_1(x)), then x + mlp(ln_2(x)); MLP uses QuickGELU.
// Module and parameter names equal OpenAI checkpoint keys (attn.in_proj_weight, ln_1, mlp.c_fc, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace kd {

// x * sigmoid(1.702 x), CLIP's activation.
torch::Tensor quick_gelu(const torch::Tensor& x);

// ln(x) with x first cast to the LayerNorm's parameter dtype: under autocast the activations arrive in bf16/fp16
// while the parameters stay float32, and LibTorch 1.13's CPU autocast has no rule for layer_norm.
torch::Tensor layer_norm(torch::nn::LayerNorm& ln, const torch::Tensor& x);

// Self-attention with q, k, v stacked in one projection as nn.MultiheadAttention stores them.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t width, int64_t n_heads);
  // x: [B, L, W]; causal: mask future positions (text tower). Returns [B, L, W].
  torch::Tensor forward(const torch::Tensor& x, bool causal);

  torch::Tensor in_proj_weight;  // [3W, W]: q, k, v rows
  torch::Tensor in_proj_bias;    // [3W]
  torch::nn::Linear out_proj{nullptr};
  int64_t n_heads;
};
TORCH_MODULE(SelfAttention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t width, int64_t mlp_width);
  torch::Tensor forward(const torch::Tensor& x);  // [B, L, W] -> [B, L, W]
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Mlp);

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t width, int64_t n_heads, int64_t mlp_width, double layer_norm_eps);
  torch::Tensor forward(const torch::Tensor& x, bool causal);  // [B, L, W] -> [B, L, W]
  SelfAttention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualBlock);

// The block stack, registered as `resblocks.N` like OpenAI's Transformer.
class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int64_t width, int64_t n_layers, int64_t n_heads, int64_t mlp_width, double layer_norm_eps);
  torch::Tensor forward(torch::Tensor x, bool causal);  // [B, L, W] -> [B, L, W]
  // OpenAI's initialisation of the blocks (normal with std width^-0.5 and friends) from `generator`.
  void init_weights(at::Generator& generator);
  torch::nn::ModuleList resblocks;
  int64_t width, n_layers;
};
TORCH_MODULE(Transformer);

}  // namespace kd
