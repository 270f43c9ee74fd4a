// kd-extract's resume test: a shard found on disk is reused only if it is intact and is exactly what this run would
// write for its input range; otherwise the caller re-extracts it. Also the refusal of non-finite teacher outputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/extract/extract_inputs.h"

namespace kd {

// What this run would write into one shard.
struct ShardExpectation {
  std::string kind;                       // image | text | val
  std::string teacher_id;
  int64_t embed_dim = 0;
  int64_t views = 1;
  std::string extract_options;            // the run record (JSON) every shard carries
  std::vector<std::string> keys;          // the inputs of the shard's range, in order (val: image keys)
  std::vector<std::string> text_keys;     // val: caption keys, in order; empty otherwise
};

// Rows and skipped entries of a shard that passed.
struct ReusableShard {
  int64_t rows = 0, text_rows = 0;
  SkippedList skipped;
};

// Empty when `file` may be reused (`out` then filled); else why not, one line naming the field, expected and got.
// Checks: opens as a kd shard, schema, kind, teacher_id, embed_dim, views, extract options, keys = the range's
// inputs less its skipped ones (in order), the strings digests, every numeric dataset read whole (Fletcher32) and
// finite teacher embeddings.
std::string shard_reuse_problem(const std::filesystem::path& file, const ShardExpectation& expected,
                                ReusableShard& out);

// Throws kd::Error naming the input (keys[row]) when values [N, per_row] hold a NaN or an infinity: the teacher's
// outputs are never cached non-finite (a NaN in its weights makes every embedding NaN).
void refuse_non_finite(const std::vector<float>& values, int64_t per_row, const std::vector<std::string>& keys,
                       const std::string& input_root, const std::string& what);

}  // namespace kd
