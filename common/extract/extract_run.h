// kd-extract's one entry point: run the teacher once over images or captions and write a sharded cache.
//
// Restart contract: the input list is cut into fixed shards of --shard-size rows (shard i = inputs [i*S, (i+1)*S));
// a shard file that exists is complete (written as .tmp, fsynced, renamed). A rerun with the same options reuses
// a shard found on disk only if it passes shard_reuse_problem (intact and exactly what this run would write; else it
// is re-extracted and reported), and computes the rest, so its result equals an uninterrupted run's. DIR/extract.json records the
// teacher, the content options and a fingerprint of the inputs; a rerun that differs is refused, naming the
// difference (--force rebuilds). Workers (--num-shards/--shard-index, RANK/WORLD_SIZE, SLURM) take shards
// i % N == I; whoever finds every shard present writes skipped.tsv and, last, index.json.
#pragma once

#include <cstdint>

#include "common/extract/extract_options.h"

namespace kd {

struct ExtractSummary {
  int64_t rows_cached = 0;     // rows in this worker's shards (written now or found complete)
  int64_t rows_skipped = 0;    // inputs not cached (see skipped.tsv)
  int64_t shards_written = 0;
  int64_t shards_reused = 0;
  int64_t shards_repaired = 0; // found on disk but not reusable (shard_reuse.h): re-extracted (part of written)
  int64_t shards_total = 0;
  bool index_written = false;  // every shard present: index.json and skipped.tsv written
};

// `options` must come from resolve_extract_options. Throws kd::Error for unusable setups (teacher, folders,
// mismatching existing cache); bad inputs are skipped and counted, never thrown.
ExtractSummary run_extract(const ExtractOptions& options);

}  // namespace kd
