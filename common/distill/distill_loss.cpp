// Distillation losses between student and teacher embeddings, and their weighted sum (DistillLoss).
#include "common/distill/distill_loss.h"

#include <ATen/ATen.h>

#include <cmath>
#include <set>

#include "common/distill/train_options.h"
#include "common/util/error.h"
#include "common/util/shape_string.h"

namespace kd {
namespace {

void require_defined(const torch::Tensor& x, const char* what) {
  if (!x.defined()) throw Error("distillation loss input is missing").key(what);
}

void require_float_2d(const torch::Tensor& x, const char* what) {
  require_defined(x, what);
  if (x.dim() != 2)
    throw Error("distillation loss input must be 2-D").key(what).expected("[rows, D]").got(shape_to_string(x.sizes()));
  if (!at::isFloatingType(x.scalar_type()))
    throw Error("distillation loss input must be floating point").key(what).got(std::string(c10::toString(x.scalar_type())));
}

void require_same_device(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  if (a.device() != b.device())
    throw Error("distillation loss inputs are on different devices").key(what)
        .expected(a.device().str()).got(b.device().str());
}

// s, t: [B, D] each, same shape and device. Returns both in the compute dtype of s.
std::pair<torch::Tensor, torch::Tensor> prepare_pair(const torch::Tensor& s, const torch::Tensor& t,
                                                    const char* s_name, const char* t_name) {
  require_float_2d(s, s_name);
  require_float_2d(t, t_name);
  if (s.sizes() != t.sizes())
    throw Error("student and teacher embeddings differ in shape").key(t_name).expected(shape_to_string(s.sizes()))
        .got(shape_to_string(t.sizes()));
  require_same_device(s, t, t_name);
  if (s.size(0) == 0) throw Error("distillation loss on an empty batch").key(s_name);
  const auto dt = compute_dtype(s.scalar_type());
  return {s.to(dt), t.to(dt)};
}

void require_positive(double v, const char* what) {
  if (!(v > 0) || !std::isfinite(v)) throw Error("must be a positive finite number").key(what).got(std::to_string(v));
}

// Row-wise L2 normalisation, x / max(‖x‖₂, 1e-12) (same as torch.nn.functional.normalize). [N, D] → [N, D].
torch::Tensor normalize_rows(const torch::Tensor& x) {
  return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

// KL(p ‖ q) from log-probabilities along dim 1, summed over that dim, averaged over rows. [B, C] → 0-d.
// p·(log p − log q) with p = exp(log p): a zero p contributes exactly 0 as long as log p is finite.
torch::Tensor kl_from_log_probs(const torch::Tensor& log_p, const torch::Tensor& log_q) {
  return (log_p.exp() * (log_p - log_q)).sum(1).mean();
}

}  // namespace

c10::ScalarType compute_dtype(c10::ScalarType d) {
  return (d == at::kHalf || d == at::kBFloat16) ? at::kFloat : d;
}

torch::Tensor l1_loss(const torch::Tensor& s_in, const torch::Tensor& t_in) {
  auto [s, t] = prepare_pair(s_in, t_in, "student", "teacher");
  return (s - t).abs().mean();
}

torch::Tensor kl_loss(const torch::Tensor& s_in, const torch::Tensor& t_in, double temperature) {
  require_positive(temperature, "temperature");
  auto [s, t] = prepare_pair(s_in, t_in, "student", "teacher");
  auto log_p = at::log_softmax(t / temperature, 1);  // teacher [B, D]
  auto log_q = at::log_softmax(s / temperature, 1);  // student [B, D]
  return kl_from_log_probs(log_p, log_q) * (temperature * temperature);
}

// The seed applied softmax to the student before a cross-entropy that applies log_softmax itself, i.e.
// log_softmax(softmax(s)): the inputs then lie in (0, 1), so the loss was nearly constant (≈ log D) and carried
// almost no gradient. Here the student goes through log_softmax exactly once.
torch::Tensor ce_loss(const torch::Tensor& s_in, const torch::Tensor& t_in, double temperature) {
  require_positive(temperature, "temperature");
  auto [s, t] = prepare_pair(s_in, t_in, "student", "teacher");
  auto p = at::softmax(t / temperature, 1);          // teacher probabilities [B, D]
  auto log_q = at::log_softmax(s / temperature, 1);  // student log-probabilities [B, D]
  return -(p * log_q).sum(1).mean();
}

torch::Tensor cos_loss(const torch::Tensor& s_in, const torch::Tensor& t_in) {
  auto [s, t] = prepare_pair(s_in, t_in, "student", "teacher");
  auto cosine = (normalize_rows(s) * normalize_rows(t)).sum(1);  // [B]
  return (1.0 - cosine).mean();
}

torch::Tensor fd_loss(const torch::Tensor& s_in, const torch::Tensor& t_in) {
  auto [s, t] = prepare_pair(s_in, t_in, "student", "teacher");
  return (normalize_rows(s) - normalize_rows(t)).pow(2).mean();
}

torch::Tensor affinity_loss(const torch::Tensor& s_in, const torch::Tensor& t_in, const torch::Tensor& bank_in,
                            double logit_scale) {
  require_positive(logit_scale, "logit_scale");
  auto [s, t] = prepare_pair(s_in, t_in, "student", "teacher");
  require_float_2d(bank_in, "bank");
  require_same_device(s, bank_in, "bank");
  if (bank_in.size(1) != s.size(1) || bank_in.size(0) == 0)
    throw Error("affinity bank has the wrong shape").key("bank")
        .expected("[M>0, " + std::to_string(s.size(1)) + "]").got(shape_to_string(bank_in.sizes()));
  auto bank_t = normalize_rows(bank_in.to(s.scalar_type())).t();                   // [D, M]
  auto log_p = at::log_softmax(logit_scale * at::matmul(normalize_rows(t), bank_t), 1);  // teacher [B, M]
  auto log_q = at::log_softmax(logit_scale * at::matmul(normalize_rows(s), bank_t), 1);  // student [B, M]
  return kl_from_log_probs(log_p, log_q);
}

torch::Tensor affinity_topk_loss(const torch::Tensor& s_in, const torch::Tensor& topk_logits,
                                 const torch::Tensor& topk_indices, const torch::Tensor& bank_in,
                                 double logit_scale) {
  require_positive(logit_scale, "logit_scale");
  require_float_2d(s_in, "student");
  require_float_2d(topk_logits, "teacher_topk_logits");
  require_defined(topk_indices, "teacher_topk_indices");
  require_float_2d(bank_in, "bank");
  const int64_t B = s_in.size(0), D = s_in.size(1);
  if (B == 0) throw Error("distillation loss on an empty batch").key("student");
  if (topk_logits.size(0) != B || topk_logits.size(1) == 0)
    throw Error("teacher top-K logits have the wrong shape").key("teacher_topk_logits")
        .expected("[" + std::to_string(B) + ", K>0]").got(shape_to_string(topk_logits.sizes()));
  if (topk_indices.sizes() != topk_logits.sizes())
    throw Error("teacher top-K indices and logits differ in shape").key("teacher_topk_indices")
        .expected(shape_to_string(topk_logits.sizes())).got(shape_to_string(topk_indices.sizes()));
  if (at::isFloatingType(topk_indices.scalar_type()) || topk_indices.scalar_type() == at::kBool)
    throw Error("teacher top-K indices must be integers").key("teacher_topk_indices")
        .got(std::string(c10::toString(topk_indices.scalar_type())));
  if (bank_in.size(1) != D)
    throw Error("affinity bank has the wrong shape").key("bank")
        .expected("[M, " + std::to_string(D) + "]").got(shape_to_string(bank_in.sizes()));
  require_same_device(s_in, topk_logits, "teacher_topk_logits");
  require_same_device(s_in, topk_indices, "teacher_topk_indices");
  require_same_device(s_in, bank_in, "bank");
  const int64_t M = bank_in.size(0);
  auto idx = topk_indices.to(at::kLong);
  const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
  if (lo < 0 || hi >= M)
    throw Error("teacher top-K index outside the bank").key("teacher_topk_indices")
        .expected("[0, " + std::to_string(M) + ")").got("[" + std::to_string(lo) + ", " + std::to_string(hi) + "]");

  const auto dt = compute_dtype(s_in.scalar_type());
  const int64_t K = idx.size(1);
  auto s_hat = normalize_rows(s_in.to(dt));                                                 // [B, D]
  auto rows = normalize_rows(bank_in.to(dt)).index_select(0, idx.reshape({-1})).view({B, K, D});  // [B, K, D]
  auto student_logits = logit_scale * at::bmm(rows, s_hat.unsqueeze(2)).squeeze(2);            // [B, K]
  auto log_p = at::log_softmax(topk_logits.to(dt), 1);  // teacher over its K [B, K]
  auto log_q = at::log_softmax(student_logits, 1);       // student over the same K [B, K]
  return kl_from_log_probs(log_p, log_q);
}

torch::Tensor icl_loss(const torch::Tensor& s_in, const torch::Tensor& t_other_in, double logit_scale) {
  require_positive(logit_scale, "logit_scale");
  auto [s, t_other] = prepare_pair(s_in, t_other_in, "student", "teacher_other");
  auto logits = logit_scale * at::matmul(normalize_rows(s), normalize_rows(t_other).t());  // [B, B]
  // Cross-entropy with target b for row b: −mean_b log_softmax(logits)[b, b].
  return -at::log_softmax(logits, 1).diagonal().mean();
}

// ---- combination ---------------------------------------------------------------------------------------------

namespace {

const torch::Tensor& need(const torch::Tensor& x, const char* what, const char* loss) {
  if (!x.defined()) throw Error("distillation loss input is missing").key(std::string(what) + " (needed by loss '" + loss + "')");
  return x;
}

}  // namespace

const std::vector<LossInfo>& loss_table() {
  static const std::vector<LossInfo> kTable = {
      {"l1", kLossTeacher, "mean |s - t|",
       [](const DistillBatch& b, double, double) { return kd::l1_loss(b.student, need(b.teacher, "teacher", "l1")); }},
      {"kl", kLossTeacher, "T^2 KL(softmax(t/T) || softmax(s/T)) over D",
       [](const DistillBatch& b, double T, double) { return kd::kl_loss(b.student, need(b.teacher, "teacher", "kl"), T); }},
      {"ce", kLossTeacher, "soft-target cross-entropy at temperature T",
       [](const DistillBatch& b, double T, double) { return kd::ce_loss(b.student, need(b.teacher, "teacher", "ce"), T); }},
      {"cos", kLossTeacher, "mean 1 - cos(s, t)",
       [](const DistillBatch& b, double, double) { return kd::cos_loss(b.student, need(b.teacher, "teacher", "cos")); }},
      {"fd", kLossTeacher, "MSE of the normalised embeddings (CLIP-KD FD)",
       [](const DistillBatch& b, double, double) { return kd::fd_loss(b.student, need(b.teacher, "teacher", "fd")); }},
      {"affinity", kLossTeacher | kLossBank, "KL of similarity distributions over the whole bank (TinyCLIP)",
       [](const DistillBatch& b, double, double scale) {
         return kd::affinity_loss(b.student, need(b.teacher, "teacher", "affinity"), need(b.bank, "bank", "affinity"),
                              scale);
       }},
      {"affinity_topk", kLossBank | kLossTopk, "KL over the teacher's cached top-K bank rows",
       [](const DistillBatch& b, double, double scale) {
         return kd::affinity_topk_loss(b.student, need(b.teacher_topk_logits, "teacher_topk_logits", "affinity_topk"),
                                   need(b.teacher_topk_indices, "teacher_topk_indices", "affinity_topk"),
                                   need(b.bank, "bank", "affinity_topk"), scale);
       }},
      {"icl", kLossTeacherOther, "InfoNCE against teacher_other (kd-train: the teacher's top-1 bank row)",
       [](const DistillBatch& b, double, double scale) {
         return kd::icl_loss(b.student, need(b.teacher_other, "teacher_other", "icl"), scale);
       }},
  };
  return kTable;
}

const std::vector<std::string>& known_loss_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> n;
    for (const auto& l : loss_table()) n.push_back(l.name);
    return n;
  }();
  return kNames;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void validate_specs(const std::vector<LossSpec>& specs) {
  if (specs.empty()) throw Error("no distillation loss given").key("--loss").hint("pass --loss with at least one of: " + join(known_loss_names()));
  std::set<std::string> seen;
  for (const auto& s : specs) {
    find_loss(s.name);
    if (!seen.insert(s.name).second) throw Error("distillation loss given twice").key(s.name);
    if (!std::isfinite(s.weight) || s.weight < 0)
      throw Error("loss weight must be a number >= 0 (loss '" + s.name + "')").key("--weight").got(std::to_string(s.weight));
    if (!std::isfinite(s.scale) || s.scale < 0)
      throw Error("loss scale must be a number >= 0 (loss '" + s.name + "')").key("--loss_scale").got(std::to_string(s.scale));
  }
}

}  // namespace

const LossInfo& find_loss(const std::string& name) {
  for (const auto& l : loss_table())
    if (name == l.name) return l;
  throw Error("unknown distillation loss").key(name).expected("one of: " + join(known_loss_names()));
}

unsigned loss_inputs(const std::vector<LossSpec>& specs) {
  unsigned inputs = 0;
  for (const auto& s : specs) inputs |= find_loss(s.name).inputs;
  return inputs;
}

const double kDefaultTemperature = TrainOptions{}.t;

std::vector<LossSpec> default_loss_specs() {
  const TrainOptions defaults;
  return parse_loss_specs(defaults.loss, defaults.weight, defaults.loss_scale);
}

std::vector<LossSpec> parse_loss_specs(const std::vector<std::string>& names, const std::vector<double>& weights,
                                       const std::vector<double>& scales) {
  if (weights.size() != names.size())
    throw Error("--weight needs one value per --loss").key("--weight")
        .expected(std::to_string(names.size()) + " values").got(std::to_string(weights.size()))
        .hint("weights pair with losses by position");
  if (!scales.empty() && scales.size() != names.size())
    throw Error("--loss_scale needs one value per --loss (or none)").key("--loss_scale")
        .expected(std::to_string(names.size()) + " values").got(std::to_string(scales.size()));
  std::vector<LossSpec> specs;
  for (size_t i = 0; i < names.size(); ++i) specs.push_back({names[i], weights[i], scales.empty() ? 1.0 : scales[i]});
  validate_specs(specs);
  return specs;
}

DistillLoss::DistillLoss(std::vector<LossSpec> specs, double temperature, double logit_scale)
    : specs_(std::move(specs)), temperature_(temperature), logit_scale_(logit_scale) {
  validate_specs(specs_);
  require_positive(temperature_, "temperature");
  require_positive(logit_scale_, "logit_scale");
}

DistillLossResult DistillLoss::operator()(const DistillBatch& b) const {
  DistillLossResult out;
  for (const auto& spec : specs_) {
    torch::Tensor term = find_loss(spec.name).compute(b, temperature_, logit_scale_);
    auto weighted = term * (spec.weight * spec.scale);
    out.total = out.total.defined() ? out.total + weighted : weighted;
    out.terms.emplace_back(spec.name, term);
  }
  return out;
}

}  // namespace kd
