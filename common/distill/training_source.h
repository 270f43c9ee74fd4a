// Where a training session's batches come from: this process's slice of global batch i of epoch e, plus what the
// session checks against (embedding width, teacher, bank). CachedTrainingSource streams kd-extract's cache with
// StudentDataset; another reader (tests: rows made in memory) plugs in by implementing the same interface.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/distill/student_data.h"

namespace kd {

class TrainingSource {
 public:
  virtual ~TrainingSource() = default;

  virtual int64_t batches_per_epoch() const = 0;
  virtual int64_t rows_per_batch() const = 0;  // global rows of one batch, all processes together
  // This process's rows of global batch `index` (0 .. batches_per_epoch-1) of `epoch`; a pure function of
  // (seed, epoch, index, rank). Called from a worker thread one batch ahead (never two calls at once).
  virtual TrainingBatch batch(int64_t epoch, int64_t index) = 0;
  // Bytes of rows held in memory now (read-ahead windows), for the run's summary.
  virtual int64_t resident_bytes() const = 0;

  virtual int64_t embed_dim() const = 0;
  virtual double logit_scale() const = 0;             // the teacher's multiplier
  virtual const std::string& teacher_id() const = 0;
  virtual bool has_topk() const = 0;                  // cached teacher top-K logits against a bank
  virtual const std::string& bank_id() const = 0;
};

// StudentDataset over `cache`: global batches of `batch_size` in the epoch plan's order (epoch_plan.h), this
// process reading only its slice of each.
class CachedTrainingSource : public TrainingSource {
 public:
  CachedTrainingSource(const std::filesystem::path& cache, bool image, int resolution, int context_length,
                       int64_t batch_size, uint64_t seed, int rank, int world_size);

  int64_t batches_per_epoch() const override;
  int64_t rows_per_batch() const override;
  TrainingBatch batch(int64_t epoch, int64_t index) override;
  int64_t resident_bytes() const override { return data_.resident_bytes(); }
  int64_t embed_dim() const override { return data_.embed_dim(); }
  double logit_scale() const override { return data_.logit_scale(); }
  const std::string& teacher_id() const override { return data_.teacher_id(); }
  bool has_topk() const override { return data_.has_topk(); }
  const std::string& bank_id() const override { return data_.bank_id(); }

 private:
  StudentDataset data_;
  int64_t batch_size_;
  uint64_t seed_;
  int rank_, world_size_;
};

}  // namespace kd
