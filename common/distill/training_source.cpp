// CachedTrainingSource: StudentDataset's streamed batches, this rank's slice of each.
#include "common/distill/training_source.h"

#include <algorithm>

namespace kd {

CachedTrainingSource::CachedTrainingSource(const std::filesystem::path& cache, bool image, int resolution,
                                           int context_length, int64_t batch_size, uint64_t seed, int rank,
                                           int world_size)
    : data_(cache, image, resolution, context_length), batch_size_(batch_size), seed_(seed), rank_(rank),
      world_size_(world_size) {}

int64_t CachedTrainingSource::batches_per_epoch() const { return data_.batches_per_epoch(batch_size_); }

int64_t CachedTrainingSource::rows_per_batch() const { return std::min(batch_size_, data_.size()); }

TrainingBatch CachedTrainingSource::batch(int64_t epoch, int64_t index) {
  return data_.load_batch(epoch, index, batch_size_, seed_, rank_, world_size_);
}

}  // namespace kd
