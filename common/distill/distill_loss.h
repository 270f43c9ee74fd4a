// Distillation losses between student and teacher embeddings, and DistillLoss, their weighted sum.
// Every loss takes float tensors on any device; half/bfloat16 inputs are computed in float32 (see compute_dtype).
#pragma once

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace kd {

// ---- single losses -------------------------------------------------------------------------------------------
// Shapes: s = student embeddings [B, D], t = teacher embeddings [B, D] (same modality, same rows).
// "T" is the softmax temperature (> 0). All return a 0-d tensor (scalar) that carries autograd through s.
// Normalisation (ŝ = s / max(‖s‖₂, 1e-12), per row) is applied only where a loss says so.

// Mean absolute error over all B·D elements: mean |s − t|.
torch::Tensor l1_loss(const torch::Tensor& s, const torch::Tensor& t);

// T² · KL(softmax(t/T) ‖ softmax(s/T)) over the embedding dimension, summed over D, averaged over B ("batchmean").
// Computed from log_softmax on both sides, so logits of 1e4 stay finite.
torch::Tensor kl_loss(const torch::Tensor& s, const torch::Tensor& t, double temperature);

// Soft-target cross-entropy −Σ_d softmax(t/T)_d · log_softmax(s/T)_d, averaged over B. No T² factor.
// Identity: kl_loss = T² · (ce_loss − H(softmax(t/T))), H averaged over B.
torch::Tensor ce_loss(const torch::Tensor& s, const torch::Tensor& t, double temperature);

// Mean over B of (1 − cos(s_b, t_b)).
torch::Tensor cos_loss(const torch::Tensor& s, const torch::Tensor& t);

// Feature distillation (CLIP-KD "FD"): mean squared error of the L2-normalised embeddings, averaged over ALL B·D
// elements (torch's mse_loss default, as CLIP-KD uses it). Hence fd = 2·cos_loss / D: weight it accordingly.
torch::Tensor fd_loss(const torch::Tensor& s, const torch::Tensor& t);

// Affinity mimicking (TinyCLIP): teacher and student similarity distributions against a bank of teacher
// embeddings of the OTHER modality. bank [M, D] (normalised here again; idempotent if it already is).
//   teacher: softmax(scale · t̂ · bankᵀ) [B, M];  student: log_softmax(scale · ŝ · bankᵀ) [B, M]
//   loss = KL(teacher ‖ student), summed over M, averaged over B. `logit_scale` is the multiplier (not its log).
torch::Tensor affinity_loss(const torch::Tensor& s, const torch::Tensor& t, const torch::Tensor& bank,
                            double logit_scale);

// Affinity from cached teacher top-K logits: teacher_topk_logits [B, K] are the teacher's logits (already
// multiplied by the teacher's logit scale), teacher_topk_indices [B, K] (int64) rows of `bank` [M, D] they refer to.
// Student logits = logit_scale · ŝ · bank[idx]ᵀ gathered at those K rows; softmax over K on both sides;
// KL(teacher ‖ student) summed over K, averaged over B.
torch::Tensor affinity_topk_loss(const torch::Tensor& s, const torch::Tensor& teacher_topk_logits,
                                 const torch::Tensor& teacher_topk_indices, const torch::Tensor& bank,
                                 double logit_scale);

// Interactive contrastive learning (CLIP-KD "ICL"): InfoNCE of student embeddings against the teacher's
// embeddings of the other modality for a PAIRED batch (row b of s pairs with row b of t_other).
//   logits = logit_scale · ŝ · t̂_otherᵀ [B, B]; cross-entropy with targets arange(B), averaged over B.
// One direction only (student → teacher-other); call it twice with roles swapped for the symmetric form.
// In kd-train the batch is not paired: a cache holds one modality, so a row has no caption (or image) of its own.
// kd-train's stand-in for row b's partner is the other-modality bank row the TEACHER ranks first for row b (index 0
// of the cached top-K, see TrainSession): ICL then pulls the student towards the teacher's best match and away from
// the other rows' best matches. Rows that share a best match make the targets ambiguous (they are still arange(B)).
torch::Tensor icl_loss(const torch::Tensor& s, const torch::Tensor& t_other, double logit_scale);

// The dtype losses are computed in for an input of dtype `d`: float16/bfloat16 → float32, otherwise unchanged.
c10::ScalarType compute_dtype(c10::ScalarType d);

// ---- combination ---------------------------------------------------------------------------------------------

// One term of the total: total += weight · scale · loss(name).
struct LossSpec {
  std::string name;    // a name of loss_table()
  double weight = 1.0; // >= 0
  double scale = 1.0;  // >= 0, a unit fix-up (e.g. fd's 1/D), kept apart from the mixing weight
};

// What a loss reads from a DistillBatch besides `student` (LossInfo::inputs bits).
enum LossInput : unsigned {
  kLossTeacher = 1u << 0,       // teacher: same modality, same rows
  kLossBank = 1u << 1,          // bank: the other modality's teacher embeddings (kd-train --bank)
  kLossTopk = 1u << 2,          // teacher_topk_logits / _indices: cached teacher top-K logits against the bank
  kLossTeacherOther = 1u << 3,  // teacher_other: one other-modality teacher embedding per row (icl)
};

struct DistillBatch;

// The losses, in one table: name (the --loss word), inputs, one line of documentation, and the function.
struct LossInfo {
  const char* name;
  unsigned inputs;      // LossInput bits
  const char* summary;
  torch::Tensor (*compute)(const DistillBatch& batch, double temperature, double logit_scale);
};
const std::vector<LossInfo>& loss_table();

// The table's entry for `name`; kd::Error naming it and listing the known names otherwise.
const LossInfo& find_loss(const std::string& name);

// The table's names, in order: "l1", "kl", "ce", "cos", "fd", "affinity", "affinity_topk", "icl".
const std::vector<std::string>& known_loss_names();

// The union of the inputs the losses of `specs` read (LossInput bits).
unsigned loss_inputs(const std::vector<LossSpec>& specs);

// kd-train's defaults (TrainOptions' member initialisers, their one source), pairing weights with losses BY
// POSITION in --loss: --loss kl l1 ce --weight 0.6 0.35 0.05 (kl 0.6, l1 0.35, ce 0.05), temperature 4.
// The brief also wrote "Σ weight·scale·{l1, ce, kl} (0.6/0.35/0.05)", which would pair 0.6 with l1; we follow the
// option list as typed (the CLI is what a run records), so the only rule is "i-th weight ↔ i-th loss".
std::vector<LossSpec> default_loss_specs();
extern const double kDefaultTemperature;

// Builds specs from the seed's flags. weights.size() and scales.size() must equal names.size(); an empty
// `scales` means all 1. Unknown or repeated names, mismatched lengths, negative or non-finite numbers → kd::Error
// (naming --loss, --weight or --loss_scale).
std::vector<LossSpec> parse_loss_specs(const std::vector<std::string>& names, const std::vector<double>& weights,
                                       const std::vector<double>& scales);

// What one batch provides. s and t are required; the rest only for the losses that use them.
struct DistillBatch {
  torch::Tensor student;               // [B, D]
  torch::Tensor teacher;               // [B, D] same modality as student
  torch::Tensor teacher_other;         // [B, D] teacher, other modality, paired rows (icl)
  torch::Tensor bank;                  // [M, D] teacher, other modality (affinity, affinity_topk)
  torch::Tensor teacher_topk_logits;   // [B, K] (affinity_topk)
  torch::Tensor teacher_topk_indices;  // [B, K] int64 into bank (affinity_topk)
};

struct DistillLossResult {
  torch::Tensor total;                                      // 0-d, Σ weight·scale·loss
  std::vector<std::pair<std::string, torch::Tensor>> terms;  // unweighted loss per spec, in spec order (0-d)
};

class DistillLoss {
 public:
  // temperature > 0 (kl, ce); logit_scale > 0 is the multiplier (affinity, affinity_topk, icl).
  DistillLoss(std::vector<LossSpec> specs, double temperature, double logit_scale);

  // Throws kd::Error if a loss needs an input the batch lacks, or shapes disagree.
  DistillLossResult operator()(const DistillBatch& batch) const;

  const std::vector<LossSpec>& specs() const { return specs_; }
  double temperature() const { return temperature_; }
  double logit_scale() const { return logit_scale_; }

 private:
  std::vector<LossSpec> specs_;
  double temperature_;
  double logit_scale_;
};

}  // namespace kd
