// CachedTrainingSource: StudentDataset rows in the seeded epoch order, one rank's slice per global batch.
#include "common/distill/training_source.h"

#include <algorithm>

namespace kd {

CachedTrainingSource::CachedTrainingSource(const std::filesystem::path& cache, bool image, int resolution,
                                           int context_length, int64_t batch_size, uint64_t seed, int rank,
                                           int world_size)
    : data_(cache, image, resolution, context_length), batch_size_(batch_size), seed_(seed), rank_(rank),
      world_size_(world_size) {}

int64_t CachedTrainingSource::batches_per_epoch() const { return kd::batches_per_epoch(data_.size(), batch_size_); }

int64_t CachedTrainingSource::rows_per_batch() const { return std::min(batch_size_, data_.size()); }

TrainingBatch CachedTrainingSource::batch(int64_t epoch, int64_t index) const {
  std::vector<int64_t> rows;
  {
    std::lock_guard<std::mutex> lock(order_mutex_);
    if (order_epoch_ != epoch) {
      order_ = epoch_order(data_.size(), seed_, epoch);
      order_epoch_ = epoch;
    }
    rows = rank_slice(order_, index, batch_size_, rank_, world_size_);
  }
  return data_.load(rows, epoch, seed_);
}

}  // namespace kd
