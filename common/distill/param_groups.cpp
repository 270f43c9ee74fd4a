// AdamW parameter groups: weight decay for matrices, none for biases, norms and embeddings.
#include "common/distill/param_groups.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>

#include "common/util/error.h"

namespace kd {

bool exempt_from_weight_decay(const std::string& name, const torch::Tensor& param) {
  if (param.dim() < 2) return true;
  const auto dot = name.rfind('.');
  const std::string last = dot == std::string::npos ? name : name.substr(dot + 1);
  if (last == "bias") return true;
  if (name.find("embedding") != std::string::npos) return true;
  if (name.find("logit_scale") != std::string::npos) return true;
  return false;
}

WeightDecaySplit split_weight_decay(const torch::nn::Module& module) {
  WeightDecaySplit out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    const torch::Tensor& p = item.value();
    if (!p.requires_grad()) continue;
    if (exempt_from_weight_decay(item.key(), p)) {
      out.no_decay_names.push_back(item.key());
      out.no_decay.push_back(p);
    } else {
      out.decay_names.push_back(item.key());
      out.decay.push_back(p);
    }
  }
  return out;
}

namespace {

void check(const AdamWSettings& s) {
  auto bad = [](const char* key, const char* expected, double got) {
    return Error("bad AdamW setting").key(key).expected(expected).got(std::to_string(got));
  };
  if (!(std::isfinite(s.lr) && s.lr > 0)) throw bad("lr", "> 0", s.lr);
  if (!(std::isfinite(s.weight_decay) && s.weight_decay >= 0)) throw bad("weight_decay", ">= 0", s.weight_decay);
  if (!(s.beta1 >= 0 && s.beta1 < 1)) throw bad("beta1", "in [0, 1)", s.beta1);
  if (!(s.beta2 >= 0 && s.beta2 < 1)) throw bad("beta2", "in [0, 1)", s.beta2);
  if (!(std::isfinite(s.eps) && s.eps > 0)) throw bad("eps", "> 0", s.eps);
}

std::unique_ptr<torch::optim::AdamWOptions> group_options(const AdamWSettings& s, double weight_decay) {
  auto o = std::make_unique<torch::optim::AdamWOptions>(s.lr);
  o->betas(std::make_tuple(s.beta1, s.beta2)).eps(s.eps).weight_decay(weight_decay);
  return o;
}

std::vector<torch::optim::OptimizerParamGroup> make_groups(const WeightDecaySplit& split,
                                                           const std::vector<torch::Tensor>& separate,
                                                           const AdamWSettings& s) {
  if (split.decay.empty() && split.no_decay.empty() && separate.empty())
    throw Error("module has no trainable parameters").hint("nothing for AdamW to optimise");
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!split.decay.empty()) groups.emplace_back(split.decay, group_options(s, s.weight_decay));
  if (!split.no_decay.empty()) groups.emplace_back(split.no_decay, group_options(s, 0.0));
  if (!separate.empty()) groups.emplace_back(separate, group_options(s, 0.0));
  return groups;
}

}  // namespace

std::vector<torch::optim::OptimizerParamGroup> adamw_param_groups(const torch::nn::Module& module,
                                                                 const AdamWSettings& s) {
  check(s);
  return make_groups(split_weight_decay(module), {}, s);
}

std::vector<torch::optim::OptimizerParamGroup> adamw_param_groups(
    const std::vector<std::pair<std::string, torch::Tensor>>& named, const AdamWSettings& s,
    const std::vector<std::string>& separate) {
  check(s);
  WeightDecaySplit split;
  std::vector<torch::Tensor> own;
  for (const auto& [name, p] : named) {
    if (!p.requires_grad()) continue;
    if (std::find(separate.begin(), separate.end(), name) != separate.end()) own.push_back(p);
    else if (exempt_from_weight_decay(name, p)) split.no_decay.push_back(p);
    else split.decay.push_back(p);
  }
  return make_groups(split, own, s);
}

}  // namespace kd
