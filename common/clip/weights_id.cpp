// clip_weights_id: SHA-256 over the model's tensors, sorted by OpenAI name, as float32 (layout in weights_id.h).
#include "common/clip/weights_id.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "common/util/sha256.h"

namespace kd {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "clip_weights_id hashes float32 bytes as little-endian");

std::string clip_weights_id(const ClipModel& model) {
  std::vector<std::pair<std::string, at::Tensor>> tensors = model.named_tensors();
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Sha256 digest;
  digest.update("kd-weights-id 1\n");
  for (const auto& [name, tensor] : tensors) {
    std::string header = name + "\tfloat32\t";
    for (int64_t i = 0; i < tensor.dim(); ++i) header += (i ? "," : "") + std::to_string(tensor.size(i));
    digest.update(header + "\n");
    const at::Tensor values = tensor.detach().to(at::kCPU, at::kFloat).contiguous();  // same shape, float32
    digest.update(values.data_ptr<float>(), static_cast<size_t>(values.numel()) * sizeof(float));
  }
  return digest.hex();
}

}  // namespace kd
