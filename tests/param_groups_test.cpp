// AdamW parameter groups on a tiny CLIP-shaped module: which names get weight decay.
#include "common/distill/param_groups.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "common/util/error.h"

namespace {

struct TinyClipImpl : torch::nn::Module {
  TinyClipImpl() {
    class_embedding = register_parameter("class_embedding", torch::zeros({4}));          // [D] → no decay
    positional_embedding = register_parameter("positional_embedding", torch::zeros({3, 4}));  // [N, D] → no decay
    token_embedding = register_module("token_embedding", torch::nn::Embedding(10, 4));  // weight [V, D] → no decay
    ln = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));  // weight, bias → no
    fc = register_module("c_fc", torch::nn::Linear(4, 8));                              // weight decay, bias no
    proj = register_parameter("text_projection", torch::zeros({4, 2}));                 // [D, E] → decay
    logit_scale = register_parameter("logit_scale", torch::zeros({}));                  // [] → no decay
    frozen = register_parameter("frozen_matrix", torch::zeros({2, 2}), /*requires_grad=*/false);  // left out
  }
  torch::Tensor class_embedding, positional_embedding, proj, logit_scale, frozen;
  torch::nn::Embedding token_embedding{nullptr};
  torch::nn::LayerNorm ln{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(TinyClip);

}  // namespace

TEST(ParamGroups, SplitsByNameAndDims) {
  TinyClip m;
  auto split = kd::split_weight_decay(*m);
  EXPECT_EQ(split.decay_names, (std::vector<std::string>{"text_projection", "c_fc.weight"}));
  EXPECT_EQ(split.no_decay_names,
            (std::vector<std::string>{"class_embedding", "positional_embedding", "logit_scale",
                                      "token_embedding.weight", "ln_final.weight", "ln_final.bias", "c_fc.bias"}));
  EXPECT_EQ(split.decay.size(), 2u);
  EXPECT_EQ(split.no_decay.size(), 7u);
  EXPECT_TRUE(split.decay[0].is_same(m->proj));
}

TEST(ParamGroups, ExemptionRules) {
  auto mat = torch::zeros({2, 2}), vec = torch::zeros({2});
  EXPECT_FALSE(kd::exempt_from_weight_decay("visual.transformer.resblocks.0.attn.in_proj_weight", mat));
  EXPECT_TRUE(kd::exempt_from_weight_decay("visual.transformer.resblocks.0.attn.in_proj_bias", vec));
  EXPECT_TRUE(kd::exempt_from_weight_decay("some.bias", mat));  // a 2-D tensor named bias
  EXPECT_TRUE(kd::exempt_from_weight_decay("vision_model.embeddings.position_embedding.weight", mat));
  EXPECT_FALSE(kd::exempt_from_weight_decay("visual.conv1.weight", torch::zeros({4, 3, 2, 2})));
  EXPECT_FALSE(kd::exempt_from_weight_decay("visual.proj", mat));
}

TEST(ParamGroups, AdamWGroupsCarryWeightDecayAndStep) {
  TinyClip m;
  kd::AdamWSettings s;
  s.lr = 0.1;
  s.weight_decay = 0.5;
  auto groups = kd::adamw_param_groups(*m, s);
  ASSERT_EQ(groups.size(), 2u);
  auto& o0 = static_cast<torch::optim::AdamWOptions&>(groups[0].options());
  auto& o1 = static_cast<torch::optim::AdamWOptions&>(groups[1].options());
  EXPECT_DOUBLE_EQ(o0.weight_decay(), 0.5);
  EXPECT_DOUBLE_EQ(o1.weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(o0.lr(), 0.1);
  EXPECT_DOUBLE_EQ(std::get<1>(o1.betas()), 0.98);
  EXPECT_EQ(groups[0].params().size(), 2u);
  EXPECT_EQ(groups[1].params().size(), 7u);

  // One step with zero gradients: only decoupled weight decay moves parameters, p ← p·(1 − lr·wd) = p·0.95,
  // so the decayed matrix shrinks and the exempt class embedding does not.
  m->proj.data().fill_(1.0);
  m->class_embedding.data().fill_(1.0);
  torch::optim::AdamW opt(std::move(groups), torch::optim::AdamWOptions(0.1));
  for (auto& p : m->parameters())
    if (p.requires_grad()) p.mutable_grad() = torch::zeros_like(p);
  opt.step();
  EXPECT_FLOAT_EQ(m->proj[0][0].item<float>(), 0.95f);
  EXPECT_FLOAT_EQ(m->class_embedding[0].item<float>(), 1.0f);

  s.lr = 0;
  EXPECT_THROW(kd::adamw_param_groups(*m, s), kd::Error);
}
