// The training data of a student, streamed from a checked teacher cache: rows are read from the shards as the
// epoch plan (epoch_plan.h) needs them, a bounded window per lane, float16 kept as float16 until the batch is formed.
// Image students re-decode the source image and render the cached view with kd-extract's renderer.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/cache/cache_check.h"
#include "common/distill/epoch_plan.h"
#include "common/image/renderer.h"

namespace kd {

struct TrainingBatch {
  at::Tensor inputs;       // image: [B, 3, R, R] float32; text: [B, C] int64
  at::Tensor teacher;      // [B, D] float32: the cached teacher embedding of exactly these inputs
  at::Tensor topk_values;  // [B, K] float32 teacher logits against the bank (undefined without cached logits)
  at::Tensor topk_index;   // [B, K] int64 rows of the bank
  std::vector<int64_t> rows;  // [B] the global rows (shard after shard, as index.json lists them)
};

struct LaneWindow;  // student_data.cpp: one lane window's rows in memory

class StudentDataset {
 public:
  // image: the cache must be of kind image; resolution is the student's input size. Checks index.json and every
  // shard's metadata (cache_check.h); reads no rows.
  StudentDataset(const std::filesystem::path& cache_dir, bool image, int resolution, int context_length);
  ~StudentDataset();
  StudentDataset(const StudentDataset&) = delete;
  StudentDataset& operator=(const StudentDataset&) = delete;

  int64_t size() const { return n_; }
  int64_t views() const { return views_; }
  int64_t embed_dim() const { return embed_dim_; }
  double logit_scale() const { return logit_scale_; }  // the teacher's multiplier
  const std::string& teacher_id() const { return cache_.index.teacher_id; }
  bool has_topk() const { return has_topk_; }
  const std::string& bank_id() const { return bank_id_; }
  // Image caches: the resize mode kd-extract rendered the teacher's views with (the shards' preprocess.resize);
  // batches render the student's views the same way, so student and teacher see the same pixels.
  ResizeMode resize() const { return resize_; }

  // Batches of one epoch for a global batch of batch_size rows (EpochPlan::batches).
  int64_t batches_per_epoch(int64_t batch_size) const;
  // This process's slice (slots [rank, rank + 1) * B / world_size) of global batch `batch` of `epoch` in the
  // EpochPlan order; reads only the lane windows those slots fall in. Each image row shows the view chosen by
  // (seed, epoch, row). One call at a time (the trainer prefetches the next batch on one thread). Throws kd::Error
  // naming the shard (a chunk failing its Fletcher32 checksum, keys failing their digest) or the image.
  TrainingBatch load_batch(int64_t epoch, int64_t batch, int64_t batch_size, uint64_t seed, int rank,
                           int world_size);
  // The given global rows, read one by one (tests and tools; not the training path).
  TrainingBatch load(const std::vector<int64_t>& rows, int64_t epoch, uint64_t seed);

  // Bytes of rows held in memory now (lane windows), for the summary.
  int64_t resident_bytes() const;

 private:
  void read_piece(const RowPiece& piece, int64_t epoch, uint64_t seed, LaneWindow& w);
  LaneWindow& window(const EpochPlan& plan, int lane, int64_t index, uint64_t seed);
  TrainingBatch form_batch(const std::vector<const LaneWindow*>& windows, const std::vector<int64_t>& at);

  cache::CheckedCache cache_;
  bool image_;
  int resolution_, context_length_;
  int64_t n_ = 0, views_ = 1, embed_dim_ = 0;
  ResizeMode resize_ = ResizeMode::kExact;
  double logit_scale_ = 100;
  bool has_topk_ = false;
  std::string bank_id_;
  std::vector<int64_t> shard_rows_, shard_offset_;  // [S], [S + 1]
  std::vector<char> keys_checked_;                  // [S] this process has checked the shard's keys digest
  std::unique_ptr<EpochPlan> plan_;                 // of the epoch being read
  uint64_t plan_seed_ = 0;
  int64_t plan_batch_ = 0;
  std::vector<std::unique_ptr<LaneWindow>> windows_;  // at most two per lane
};

// Batches per epoch of a global batch of batch_size rows over n rows: max(1, n / batch_size).
int64_t batches_per_epoch(int64_t n, int64_t batch_size);

}  // namespace kd
