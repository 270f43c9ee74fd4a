// A bank for affinity distillation: the teacher's normalised embeddings of the other modality, read from a cache,
// and the teacher's top-K logits of new embeddings against it (stored beside them as logits_topk_*).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kd {

struct LogitBank {
  std::string id;       // sha256 of the bank's index.json
  std::string kind;     // image | text
  at::Tensor embeds;    // [M, D] float32, L2-normalised (image caches: view 0)
};

// Loads every shard of the cache at `dir`; it must be of `expected_kind` and made by `teacher_id`.
LogitBank load_logit_bank(const std::filesystem::path& dir, const std::string& expected_kind,
                          const std::string& teacher_id);

// values/index: [rows, K] (K = min(k, M)), logit_scale * cos(embed, bank row), best first.
void topk_logits(const LogitBank& bank, const std::vector<float>& embeds, int64_t rows, int64_t dim,
                 double logit_scale, int64_t k, std::vector<float>& values, std::vector<int32_t>& index);

}  // namespace kd
