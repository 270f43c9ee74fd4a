// The training data of a student, read from a teacher cache: image students re-decode the source image and render
// a cached view with the same renderer as kd-extract (so the pixels match the cached teacher embedding); text
// students read the cached tokens. Also the seeded epoch order and the per-rank slice of each global batch.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/image/renderer.h"

namespace kd {

struct TrainingBatch {
  at::Tensor inputs;       // image: [B, 3, R, R] float32; text: [B, C] int64
  at::Tensor teacher;      // [B, D] float32: the cached teacher embedding of exactly these inputs
  at::Tensor topk_values;  // [B, K] float32 teacher logits against the bank (undefined without cached logits)
  at::Tensor topk_index;   // [B, K] int64 rows of the bank
};

class StudentDataset {
 public:
  // image: the cache must be of kind image; resolution is the student's input size. Reads every shard's keys,
  // view parameters (image) or tokens (text), embeddings and cached logits into memory.
  StudentDataset(const std::filesystem::path& cache_dir, bool image, int resolution, int context_length);

  int64_t size() const { return n_; }
  int64_t views() const { return views_; }
  int64_t embed_dim() const { return embed_dim_; }
  double logit_scale() const { return logit_scale_; }  // the teacher's multiplier
  const std::string& teacher_id() const { return teacher_id_; }
  bool has_topk() const { return topk_values_.defined(); }
  const std::string& bank_id() const { return bank_id_; }
  // Image caches: the resize mode kd-extract rendered the teacher's views with (the shards' preprocess.resize);
  // load() renders the student's views the same way, so student and teacher see the same pixels.
  ResizeMode resize() const { return resize_; }

  // The batch of dataset rows `rows` in `epoch`: each image row shows the view chosen by (seed, epoch, row).
  // Decoding runs on `threads` TBB workers. Throws kd::Error naming the image when it can no longer be read.
  TrainingBatch load(const std::vector<int64_t>& rows, int64_t epoch, uint64_t seed) const;

 private:
  bool image_;
  int resolution_, context_length_;
  int64_t n_ = 0, views_ = 1, embed_dim_ = 0;
  ResizeMode resize_ = ResizeMode::kExact;
  double logit_scale_ = 100;
  std::string teacher_id_, bank_id_;
  std::vector<std::filesystem::path> roots_;  // per row's shard: image root
  std::vector<int32_t> root_of_row_;          // [N]
  std::vector<std::string> keys_;             // [N]
  at::Tensor view_params_;                    // [N, V, 5] float32
  at::Tensor tokens_;                         // [N, C] int64
  at::Tensor embeds_;                         // [N, V, D] float32 (text: V = 1)
  at::Tensor topk_values_, topk_index_;       // [N, V, K] / [N, K]
};

// The rows of the whole epoch in a seeded order (same on every rank and every platform): a Fisher-Yates shuffle
// driven by splitmix64 of (seed, epoch).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// Global batch `batch_index` of the order (batch_size rows; incomplete last batches are dropped, unless the data
// holds fewer rows than one batch) and this rank's contiguous slice of it (batch_size % world_size == 0).
int64_t batches_per_epoch(int64_t n, int64_t batch_size);
std::vector<int64_t> rank_slice(const std::vector<int64_t>& order, int64_t batch_index, int64_t batch_size,
                                int rank, int world_size);

}  // namespace kd
