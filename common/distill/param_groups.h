// AdamW parameter groups: which parameters get weight decay (matrices) and which do not (biases, norms, embeddings).
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <string>
#include <utility>
#include <vector>

namespace kd {

// True for parameters that must not be weight-decayed, decided from the qualified name and the tensor:
//   - fewer than 2 dims (biases, LayerNorm weight/bias, class_embedding [D], logit_scale []),
//   - the last name component is "bias",
//   - the name contains "embedding" (token_embedding, positional_embedding, class_embedding, HF "embeddings.*";
//     note this also exempts HF's conv "embeddings.patch_embedding.weight", as open_clip does),
//   - the name contains "logit_scale".
bool exempt_from_weight_decay(const std::string& name, const torch::Tensor& param);

// The trainable (requires_grad) parameters of a module, split in named_parameters() order. Frozen ones are left out.
struct WeightDecaySplit {
  std::vector<std::string> decay_names, no_decay_names;
  std::vector<torch::Tensor> decay, no_decay;
};
WeightDecaySplit split_weight_decay(const torch::nn::Module& module);

struct AdamWSettings {
  double lr = 1e-4;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-6;
};

// Two groups for torch::optim::AdamW: [0] decayed with settings.weight_decay, [1] weight_decay 0. A group with no
// parameters is left out. Throws kd::Error if the module has no trainable parameters or a setting is invalid.
std::vector<torch::optim::OptimizerParamGroup> adamw_param_groups(const torch::nn::Module& module,
                                                                 const AdamWSettings& settings);

// The same groups from (name, tensor) pairs (e.g. ClipModel::named_tensors(); frozen tensors are left out), plus,
// when `separate` names any, a last group of those tensors alone (weight_decay 0), e.g. a logit_scale trained at
// its own learning rate (OptimizerStepOptions::lr_factors).
std::vector<torch::optim::OptimizerParamGroup> adamw_param_groups(
    const std::vector<std::pair<std::string, torch::Tensor>>& named, const AdamWSettings& settings,
    const std::vector<std::string>& separate = {});

}  // namespace kd
