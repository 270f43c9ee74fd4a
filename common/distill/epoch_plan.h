// The order kd-train reads a cache in during one epoch: quasi-random (FFCV-style) lanes of shuffled blocks, rows
// shuffled inside bounded windows. A pure function of (shard sizes, batch size, seed, epoch); docs/data-loading.md.
#pragma once

#include <cstdint>
#include <vector>

namespace kd {

// Rows [begin, begin + count) of shard `shard` (index into the cache's shard list).
struct RowPiece {
  int32_t shard = 0;
  int64_t begin = 0, count = 0;
};

// Where slot `slot` of a global batch comes from: row `position` (before the window's shuffle, see
// window_permutation) of window `window` of lane `lane`.
struct SlotSource {
  int lane = 0;
  int64_t window = 0;
  int64_t position = 0;  // index into window_permutation(lane, window)
};

// One epoch's order. The cache's rows, cut into blocks of kBlockRows inside each shard, are shuffled as blocks and
// laid end to end; that sequence is cut into lanes() equal lanes, and each lane into windows of kWindowRows rows
// (staggered per lane) whose rows are shuffled. Global batch b takes rows_per_lane() consecutive rows of every
// lane, lane after lane, so the slots a process owns (a contiguous part of the batch) fall in whole lanes when the
// number of processes divides lanes(): each process then reads only its own lanes' blocks. Every row is used at
// most once; exactly once when the row count is a multiple of the batch (the incomplete rest is dropped, as before).
class EpochPlan {
 public:
  static constexpr int64_t kBlockRows = 256;    // rows shuffled as one block (contiguous in a shard)
  static constexpr int64_t kWindowRows = 1024;  // rows shuffled together inside a lane
  static constexpr int kMaxLanes = 16;          // lanes = the largest power of two <= 16 dividing the batch

  EpochPlan(const std::vector<int64_t>& shard_rows, int64_t batch_size, uint64_t seed, int64_t epoch);

  int64_t rows() const { return n_; }
  int64_t epoch() const { return epoch_; }
  int64_t batches() const { return batches_; }         // max(1, rows / batch_size)
  int64_t global_batch() const { return global_; }     // min(batch_size, rows)
  int lanes() const { return lanes_; }
  int64_t rows_per_lane() const { return per_lane_; }  // global_batch / lanes

  SlotSource source(int64_t batch, int64_t slot) const;
  // The rows of a lane's window, in sequence order (pieces of at most one block each).
  std::vector<RowPiece> window_pieces(int lane, int64_t window) const;
  int64_t window_rows(int lane, int64_t window) const;
  // Window position -> index into the concatenated window_pieces rows: a seeded shuffle of [0, window_rows).
  std::vector<int32_t> window_permutation(int lane, int64_t window) const;
  // The global row (shard offsets in order) of slot `slot` of batch `batch` (tests; the loader reads windows).
  int64_t row_at(int64_t batch, int64_t slot) const;

 private:
  int64_t lane_begin(int lane) const;  // first sequence position of the lane
  int64_t window_begin(int lane, int64_t window) const;  // lane position, clipped to [0, lane length]
  int64_t offset(int lane) const { return lane * kWindowRows / lanes_; }

  int64_t n_ = 0, epoch_ = 0, batches_ = 1, global_ = 1, per_lane_ = 1;
  int lanes_ = 1;
  uint64_t seed_ = 0;
  std::vector<int64_t> shard_offset_;   // [S + 1] global row of each shard's first row
  std::vector<RowPiece> blocks_;        // shuffled
  std::vector<int64_t> block_start_;    // [blocks + 1] sequence position of each shuffled block
};

}  // namespace kd
