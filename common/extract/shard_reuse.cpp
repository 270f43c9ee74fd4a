// shard_reuse_problem: the resume checks of one existing shard; refuse_non_finite: no NaN teacher rows in a cache.
#include "common/extract/shard_reuse.h"

#include <cmath>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/util/error.h"

namespace kd {
namespace {

namespace c = kd::cache;

std::string quote_text(const std::string& s) { return "\"" + s + "\""; }

// `stored` must be `expected` less the keys of `skipped`, in order. Empty when it is; else what differs.
std::string compare_keys(const std::vector<std::string>& stored, const std::vector<std::string>& expected,
                         const std::set<std::string>& skipped, const char* dataset) {
  size_t j = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (j < stored.size() && stored[j] == expected[i]) {
      ++j;
      continue;
    }
    if (skipped.count(expected[i])) continue;
    return std::string(dataset) + ": expected " + quote_text(expected[i]) + " at row " + std::to_string(j) + ", got " +
           (j < stored.size() ? quote_text(stored[j]) : std::string("no row"));
  }
  if (j != stored.size())
    return std::string(dataset) + ": expected " + std::to_string(j) + " rows (this shard's inputs), got " +
           std::to_string(stored.size());
  return {};
}

// Any NaN or infinity in a stored float dataset: the flat index of the first, or -1.
int64_t first_non_finite(const c::StoredArray& a) {
  const size_t n = a.type == c::StoredType::kFloat16 ? a.bytes.size() / 2 : a.bytes.size() / 4;
  for (size_t i = 0; i < n; ++i) {
    float v;
    if (a.type == c::StoredType::kFloat16) {
      uint16_t h;
      std::memcpy(&h, a.bytes.data() + 2 * i, 2);
      if ((h & 0x7C00u) == 0x7C00u) return static_cast<int64_t>(i);
      continue;
    }
    if (a.type != c::StoredType::kFloat32) return -1;
    std::memcpy(&v, a.bytes.data() + 4 * i, 4);
    if (!std::isfinite(v)) return static_cast<int64_t>(i);
  }
  return -1;
}

std::string check(const std::filesystem::path& file, const ShardExpectation& want, ReusableShard& out) {
  c::ShardReader r(file);
  const c::ShardCounts counts = c::validate_shard_schema(r);
  if (counts.version != c::kFormatVersion)
    return std::string(c::kAttrVersion) + ": expected " + std::to_string(c::kFormatVersion) + ", got " +
           std::to_string(counts.version);
  if (counts.kind != want.kind) return std::string(c::kAttrKind) + ": expected " + want.kind + ", got " + counts.kind;
  const std::string teacher = r.string_attr(c::kAttrTeacherId);
  if (teacher != want.teacher_id)
    return std::string(c::kAttrTeacherId) + ": expected " + want.teacher_id + ", got " + teacher + " (another teacher)";
  if (counts.embed_dim != want.embed_dim)
    return std::string(c::kAttrEmbedDim) + ": expected " + std::to_string(want.embed_dim) + ", got " +
           std::to_string(counts.embed_dim);
  if (counts.views != want.views)
    return std::string(c::kAttrViews) + ": expected " + std::to_string(want.views) + ", got " +
           std::to_string(counts.views);
  const std::string opts = r.has_attr(c::kAttrExtractOptions) ? r.string_attr(c::kAttrExtractOptions) : "";
  const nlohmann::json got_opts = nlohmann::json::parse(opts, nullptr, /*allow_exceptions=*/false);
  if (got_opts.is_discarded() || got_opts != nlohmann::json::parse(want.extract_options))
    return std::string(c::kAttrExtractOptions) + ": made by another run (" + opts.substr(0, 120) + ")";

  for (const char* name : {c::kSkippedKeys, c::kSkippedReasons})
    if (!r.has_dataset(name)) return std::string(name) + ": expected a dataset, got none";
  const std::vector<std::string> skipped_keys = r.read_strings(c::kSkippedKeys);
  const std::vector<std::string> reasons = r.read_strings(c::kSkippedReasons);
  if (skipped_keys.size() != reasons.size())
    return std::string(c::kSkippedReasons) + ": expected " + std::to_string(skipped_keys.size()) + " rows, got " +
           std::to_string(reasons.size());
  const std::set<std::string> skipped(skipped_keys.begin(), skipped_keys.end());
  const bool val = want.kind == c::kKindVal;
  std::string why = compare_keys(r.read_strings(val ? c::kImageKeys : c::kKeys), want.keys, skipped,
                                 val ? c::kImageKeys : c::kKeys);
  if (why.empty() && val) why = compare_keys(r.read_strings(c::kTextKeys), want.text_keys, skipped, c::kTextKeys);
  if (!why.empty()) return why;
  // Every other dataset read whole: Fletcher32 checks each chunk; strings are checked against their digest.
  for (const std::string& name : r.dataset_names()) {
    const c::StoredType t = r.stored_type(name);
    if (t == c::StoredType::kString) {
      r.read_strings(name);
      continue;
    }
    const c::StoredArray a = r.read_stored(name);
    const bool teacher_output = name == c::kEmbeds || name == c::kImageEmbeds || name == c::kTextEmbeds;
    const int64_t bad = teacher_output ? first_non_finite(a) : -1;
    if (bad >= 0) return name + ": non-finite teacher output at flat index " + std::to_string(bad);
  }
  out.rows = counts.n_rows;
  out.text_rows = counts.n_text_rows;
  out.skipped.clear();
  for (size_t i = 0; i < skipped_keys.size(); ++i) out.skipped.emplace_back(skipped_keys[i], reasons[i]);
  return {};
}

}  // namespace

std::string shard_reuse_problem(const std::filesystem::path& file, const ShardExpectation& expected,
                                ReusableShard& out) {
  try {
    return check(file, expected, out);
  } catch (const Error& e) {
    return e.what();
  }
}

void refuse_non_finite(const std::vector<float>& values, int64_t per_row, const std::vector<std::string>& keys,
                       const std::string& input_root, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    const size_t row = per_row > 0 ? i / static_cast<size_t>(per_row) : 0;
    const std::string key = row < keys.size() ? keys[row] : "row " + std::to_string(row);
    throw Error("the teacher's output is not finite: nothing is cached from it")
        .file(input_root.empty() ? key : (std::filesystem::path(input_root) / key).string()).key(what)
        .expected("finite values").got(std::to_string(values[i]) + " at value " + std::to_string(i % per_row))
        .hint("check the teacher weights (a NaN in them makes every output NaN)");
  }
}

}  // namespace kd
