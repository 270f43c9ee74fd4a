// EpochPlan: blocks shuffled per epoch, split into lanes, rows shuffled inside staggered windows.
#include "common/distill/epoch_plan.h"

#include <algorithm>

#include "common/util/error.h"
#include "common/util/splitmix64.h"

namespace kd {

EpochPlan::EpochPlan(const std::vector<int64_t>& shard_rows, int64_t batch_size, uint64_t seed, int64_t epoch)
    : epoch_(epoch), seed_(seed) {
  if (batch_size <= 0) throw Error("batch size must be positive").key("--batch_size").got(std::to_string(batch_size));
  shard_offset_.push_back(0);
  for (size_t s = 0; s < shard_rows.size(); ++s) {
    for (int64_t b = 0; b < shard_rows[s]; b += kBlockRows)
      blocks_.push_back({static_cast<int32_t>(s), b, std::min(kBlockRows, shard_rows[s] - b)});
    shard_offset_.push_back(shard_offset_.back() + shard_rows[s]);
  }
  n_ = shard_offset_.back();
  if (n_ == 0) throw Error("the training cache holds no rows");
  global_ = std::min(batch_size, n_);
  batches_ = std::max<int64_t>(1, n_ / batch_size);
  lanes_ = 1;
  while (lanes_ * 2 <= kMaxLanes && global_ % (lanes_ * 2) == 0) lanes_ *= 2;
  per_lane_ = global_ / lanes_;
  uint64_t state = seed ^ (0xD1B54A32D192ED03ULL * static_cast<uint64_t>(epoch + 1));
  for (size_t i = blocks_.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(splitmix64_next(state) % i);
    std::swap(blocks_[i - 1], blocks_[j]);
  }
  block_start_.assign(1, 0);
  for (const RowPiece& b : blocks_) block_start_.push_back(block_start_.back() + b.count);
}

int64_t EpochPlan::lane_begin(int lane) const {
  return static_cast<int64_t>(static_cast<__int128>(n_) * lane / lanes_);
}

int64_t EpochPlan::window_begin(int lane, int64_t window) const {
  const int64_t length = lane_begin(lane + 1) - lane_begin(lane);
  return std::clamp<int64_t>(window * kWindowRows - offset(lane), 0, length);
}

int64_t EpochPlan::window_rows(int lane, int64_t window) const {
  return window_begin(lane, window + 1) - window_begin(lane, window);
}

SlotSource EpochPlan::source(int64_t batch, int64_t slot) const {
  SlotSource s;
  s.lane = static_cast<int>(slot / per_lane_);
  const int64_t q = batch * per_lane_ + slot % per_lane_;  // position in the lane
  s.window = (q + offset(s.lane)) / kWindowRows;
  s.position = q - window_begin(s.lane, s.window);
  return s;
}

std::vector<RowPiece> EpochPlan::window_pieces(int lane, int64_t window) const {
  const int64_t begin = lane_begin(lane) + window_begin(lane, window);
  const int64_t end = begin + window_rows(lane, window);
  std::vector<RowPiece> out;
  // The first block that ends after `begin`.
  size_t i = static_cast<size_t>(std::upper_bound(block_start_.begin(), block_start_.end(), begin) -
                                 block_start_.begin()) - 1;
  for (int64_t pos = begin; pos < end; ++i) {
    const RowPiece& b = blocks_[i];
    const int64_t skip = pos - block_start_[i];
    const int64_t take = std::min(b.count - skip, end - pos);
    out.push_back({b.shard, b.begin + skip, take});
    pos += take;
  }
  return out;
}

std::vector<int32_t> EpochPlan::window_permutation(int lane, int64_t window) const {
  const int64_t n = window_rows(lane, window);
  std::vector<int32_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = static_cast<int32_t>(i);
  uint64_t state = seed_ ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(epoch_ + 1)) ^
                   (0xBF58476D1CE4E5B9ULL * static_cast<uint64_t>(lane + 1)) ^
                   (0x94D049BB133111EBULL * static_cast<uint64_t>(window + 1));
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(splitmix64_next(state) % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

int64_t EpochPlan::row_at(int64_t batch, int64_t slot) const {
  const SlotSource s = source(batch, slot);
  int64_t k = window_permutation(s.lane, s.window)[s.position];
  for (const RowPiece& p : window_pieces(s.lane, s.window)) {
    if (k < p.count) return shard_offset_[p.shard] + p.begin + k;
    k -= p.count;
  }
  throw Error("internal: slot outside its window").got("batch " + std::to_string(batch) + " slot " +
                                                       std::to_string(slot));
}

}  // namespace kd
