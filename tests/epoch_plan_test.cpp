// EpochPlan: the order kd-train streams a cache in. Every row at most once per epoch (exactly once when the rows
// fill whole batches), a pure function of (shard sizes, batch, seed, epoch), and each process's slots in its lanes.
#include <gtest/gtest.h>

#include <set>

#include "common/distill/epoch_plan.h"

namespace {

using kd::EpochPlan;

std::vector<int64_t> all_rows(const EpochPlan& p) {
  std::vector<int64_t> out;
  for (int64_t b = 0; b < p.batches(); ++b)
    for (int64_t s = 0; s < p.global_batch(); ++s) out.push_back(p.row_at(b, s));
  return out;
}

TEST(EpochPlan, EveryRowExactlyOnceWhenBatchesAreFull) {
  const std::vector<int64_t> shards = {1000, 777, 3000, 5, 1362};  // 6144 rows = 48 batches of 128
  const EpochPlan p(shards, 128, 42, 0);
  EXPECT_EQ(p.rows(), 6144);
  EXPECT_EQ(p.batches(), 48);
  EXPECT_EQ(p.lanes(), 16);
  EXPECT_EQ(p.rows_per_lane(), 8);
  std::vector<int64_t> rows = all_rows(p);
  std::set<int64_t> seen(rows.begin(), rows.end());
  EXPECT_EQ(seen.size(), rows.size()) << "a row repeats";
  EXPECT_EQ(static_cast<int64_t>(seen.size()), p.rows());
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), p.rows() - 1);
}

TEST(EpochPlan, AtMostOnceAndTheRestDropped) {
  const std::vector<int64_t> shards = {300, 333};  // 633 rows, batch 96 -> 6 batches, 57 rows dropped
  const EpochPlan p(shards, 96, 7, 3);
  EXPECT_EQ(p.batches(), 6);
  EXPECT_EQ(p.lanes(), 16);  // 96 = 16 * 6
  std::vector<int64_t> rows = all_rows(p);
  EXPECT_EQ(std::set<int64_t>(rows.begin(), rows.end()).size(), rows.size());
  EXPECT_EQ(rows.size(), 576u);
  // Fewer rows than one batch: one batch of all of them.
  const EpochPlan small({10}, 32, 1, 0);
  EXPECT_EQ(small.batches(), 1);
  EXPECT_EQ(small.global_batch(), 10);
  EXPECT_EQ(small.lanes(), 2);
  rows = all_rows(small);
  EXPECT_EQ(std::set<int64_t>(rows.begin(), rows.end()).size(), 10u);
}

TEST(EpochPlan, PureFunctionOfSeedAndEpoch) {
  const std::vector<int64_t> shards = {4096, 4096, 1808};
  const auto a = all_rows(EpochPlan(shards, 64, 5, 2));
  EXPECT_EQ(a, all_rows(EpochPlan(shards, 64, 5, 2)));
  EXPECT_NE(a, all_rows(EpochPlan(shards, 64, 5, 3)));
  EXPECT_NE(a, all_rows(EpochPlan(shards, 64, 6, 2)));
  // Shuffled, not in file order: consecutive positions of a batch are rarely consecutive rows.
  int adjacent = 0;
  for (size_t i = 1; i < a.size(); ++i) adjacent += a[i] == a[i - 1] + 1;
  EXPECT_LT(adjacent, static_cast<int>(a.size() / 50));
}

// With 2 (or 4) processes each process's slots lie in its own lanes: the blocks it reads are not read by another.
TEST(EpochPlan, ProcessesReadDisjointBlocks) {
  const std::vector<int64_t> shards = {5000, 5000, 6384};
  const EpochPlan p(shards, 256, 11, 0);
  for (int world : {2, 4}) {
    const int64_t per = p.global_batch() / world;
    std::vector<std::set<std::pair<int, int64_t>>> blocks(world);  // (shard, block) touched per rank
    for (int64_t b = 0; b < p.batches(); ++b)
      for (int rank = 0; rank < world; ++rank)
        for (int64_t s = rank * per; s < (rank + 1) * per; ++s) {
          const kd::SlotSource src = p.source(b, s);
          for (const kd::RowPiece& piece : p.window_pieces(src.lane, src.window))
            blocks[rank].insert({piece.shard, piece.begin / EpochPlan::kBlockRows});
        }
    size_t total = 0;
    std::set<std::pair<int, int64_t>> all;
    for (const auto& s : blocks) {
      total += s.size();
      all.insert(s.begin(), s.end());
    }
    // Lanes cut blocks at their ends: at most one block per lane boundary is shared.
    EXPECT_LE(total - all.size(), static_cast<size_t>(p.lanes())) << world << " processes";
    EXPECT_LT(blocks[0].size(), all.size() * 2 / world) << world << " processes";
  }
}

TEST(EpochPlan, WindowsAreBounded) {
  const EpochPlan p({100000}, 512, 3, 1);
  for (int lane = 0; lane < p.lanes(); ++lane)
    for (int64_t w = 0; w < 4; ++w) {
      EXPECT_LE(p.window_rows(lane, w), EpochPlan::kWindowRows);
      int64_t n = 0;
      for (const kd::RowPiece& piece : p.window_pieces(lane, w)) n += piece.count;
      EXPECT_EQ(n, p.window_rows(lane, w));
    }
}

}  // namespace
