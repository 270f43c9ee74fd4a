// The teacher as kd-extract runs it: loaded once, on a device and in a compute precision, turning CPU batches of
// pixels or tokens into float32 CPU embeddings and pooled features. Also where the teacher id and vocab come from.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>

#include "common/clip/clip_model.h"
#include "common/util/precision.h"

namespace kd {

struct EncodedBatch {
  at::Tensor embeds;    // [B, D] float32, CPU
  at::Tensor features;  // [B, W] float32, CPU
};

class TeacherEncoder {
 public:
  // precision: of weights and activations; device: "cpu", "cuda", "cuda:N".
  TeacherEncoder(const std::filesystem::path& teacher, const std::string& device, Precision precision);

  EncodedBatch encode_images(const at::Tensor& pixels);  // pixels [B, 3, R, R] float32 CPU
  EncodedBatch encode_tokens(const at::Tensor& tokens);  // tokens [B, 77] int32 CPU

  const ClipConfig& config() const { return model_.config; }
  const std::string& teacher_id() const { return teacher_id_; }  // clip_weights_id of the weights (weights_id.h)
  double logit_scale() const { return logit_scale_; }             // the multiplier, exp(stored)

 private:
  ClipModel model_;
  std::string teacher_id_;
  double logit_scale_ = 100.0;
  at::Device device_;
  at::ScalarType dtype_;
};

// The BPE vocabulary for a teacher: `vocab` when given; else vocab.json + merges.txt or
// bpe_simple_vocab_16e6.txt.gz in the teacher's folder (or beside its file). Throws kd::Error naming where it looked.
std::filesystem::path find_vocab_for_teacher(const std::filesystem::path& teacher, const std::filesystem::path& vocab);

}  // namespace kd
