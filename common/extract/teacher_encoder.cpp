// TeacherEncoder: load, move to device/precision, encode batches without autograd.
#include "common/extract/teacher_encoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/strict_fp32.h"
#include "common/clip/weights_id.h"
#include "common/util/device_name.h"
#include "common/util/error.h"

namespace kd {
namespace {

at::ScalarType dtype_for(Precision precision) {
  switch (precision) {
    case Precision::kFp16: return at::kHalf;
    case Precision::kBf16: return at::kBFloat16;
    case Precision::kFp32: break;
  }
  return at::kFloat;
}

}  // namespace

TeacherEncoder::TeacherEncoder(const std::filesystem::path& teacher, const std::string& device, Precision precision)
    : device_(parse_device(device)), dtype_(dtype_for(precision)) {
  LoadedClip loaded = load_clip(teacher);
  model_ = std::move(loaded.model);
  if (!model_.config.has_vision || !model_.config.has_text)
    throw Error("a teacher needs both towers").file(teacher.string())
        .got(model_.config.has_vision ? "vision tower only" : "text tower only");
  teacher_id_ = clip_weights_id(model_);  // float32 on the CPU still: before the move to device and dtype
  logit_scale_ = model_.logit_multiplier();
  if (device_.is_cuda() && !at::hasCUDA())
    throw Error("CUDA device requested but this LibTorch has no CUDA").key("--device").got(device);
  if (device_.is_cuda() && dtype_ == at::kFloat) use_strict_fp32_on_cuda();
  model_.to(device_, dtype_);
  model_.eval();
}

EncodedBatch TeacherEncoder::encode_images(const at::Tensor& pixels) {
  c10::InferenceMode guard;
  TowerOutput out = model_.visual->forward(pixels.to(device_, dtype_));
  return {out.embeds.to(at::kCPU, at::kFloat), out.features.to(at::kCPU, at::kFloat)};
}

EncodedBatch TeacherEncoder::encode_tokens(const at::Tensor& tokens) {
  c10::InferenceMode guard;
  TowerOutput out = model_.text->forward(tokens.to(device_));
  return {out.embeds.to(at::kCPU, at::kFloat), out.features.to(at::kCPU, at::kFloat)};
}

std::filesystem::path find_vocab_for_teacher(const std::filesystem::path& teacher, const std::filesystem::path& vocab) {
  if (!vocab.empty()) {
    if (!std::filesystem::exists(vocab)) throw Error("vocabulary not found").key("--vocab").got(vocab.string());
    return vocab;
  }
  const std::filesystem::path dir = std::filesystem::is_directory(teacher) ? teacher : teacher.parent_path();
  const std::filesystem::path folder = dir.empty() ? std::filesystem::path(".") : dir;
  if (std::filesystem::exists(folder / "vocab.json") && std::filesystem::exists(folder / "merges.txt")) return folder;
  if (std::filesystem::exists(folder / "bpe_simple_vocab_16e6.txt.gz")) return folder / "bpe_simple_vocab_16e6.txt.gz";
  throw Error("no vocabulary beside the teacher").file(folder.string())
      .expected("vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz").hint("pass --vocab");
}

}  // namespace kd
