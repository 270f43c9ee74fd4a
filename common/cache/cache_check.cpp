// open_checked_shard / check_cache: a shard's digest and metadata against its index entry, shards against each other.
#include "common/cache/cache_check.h"

#include <nlohmann/json.hpp>

#include "common/cache/shard_reader.h"
#include "common/util/error.h"
#include "common/util/sha256.h"

namespace kd::cache {
namespace {

std::string quote_text(const std::string& s) { return "\"" + s + "\""; }

// Same JSON value (key order and spacing do not matter); unparsable text compares as text.
bool same_json(const std::string& a, const nlohmann::json& b) {
  const nlohmann::json ja = nlohmann::json::parse(a, nullptr, /*allow_exceptions=*/false);
  return !ja.is_discarded() && ja == b;
}

}  // namespace

const char* keys_dataset_for(const std::string& kind) { return kind == kKindVal ? kImageKeys : kKeys; }

CheckedShard check_shard_against_index(ShardReader& r, const CacheIndex& index, const ShardInfo& info) {
  const std::string file = r.path().string();
  CheckedShard s;
  s.path = r.path();
  s.counts = validate_shard_schema(r);
  const auto mismatch = [&](const std::string& what, const std::string& key, const std::string& want,
                            const std::string& got) {
    return Error("shard does not match index.json: " + what).file(file).key(key).expected(want).got(got)
        .hint("re-extract the cache (kd-extract on the same folder repairs shards that fail this check)");
  };
  if (s.counts.kind != index.kind) throw mismatch("kind", kAttrKind, index.kind, s.counts.kind);
  const std::string teacher = r.string_attr(kAttrTeacherId);
  if (teacher != index.teacher_id)
    throw mismatch("made by another teacher", kAttrTeacherId, index.teacher_id, teacher);
  if (s.counts.embed_dim != index.embed_dim)
    throw mismatch("embedding width", kAttrEmbedDim, std::to_string(index.embed_dim),
                   std::to_string(s.counts.embed_dim));
  if (s.counts.n_rows != info.n_rows)
    throw mismatch("row count", keys_dataset_for(index.kind), std::to_string(info.n_rows) + " rows (n_rows)",
                   std::to_string(s.counts.n_rows));
  if (s.counts.n_text_rows != info.n_text_rows)
    throw mismatch("caption row count", kTextKeys, std::to_string(info.n_text_rows) + " rows (n_text_rows)",
                   std::to_string(s.counts.n_text_rows));
  if (r.has_attr(kAttrExtractOptions) && !index.options.empty()) {
    const std::string opts = r.string_attr(kAttrExtractOptions);
    if (!same_json(opts, index.options))
      throw mismatch("made with other extract options", kAttrExtractOptions, index.options.dump().substr(0, 200),
                     opts.substr(0, 200));
  }
  const char* keys = keys_dataset_for(index.kind);
  if (!info.keys_sha256.empty()) {
    const std::string where = std::string(keys) + "@" + kAttrStringsSha256;
    const std::string got = r.has_attr(kAttrStringsSha256, keys) ? r.string_attr(kAttrStringsSha256, keys) : "absent";
    if (got != info.keys_sha256) throw mismatch("holds other keys", where, info.keys_sha256, got);
  }
  s.logit_scale = r.double_attr(kAttrLogitScale);
  s.preprocess = r.string_attr(kAttrPreprocess);
  if (r.has_attr(kAttrImageRoot)) s.image_root = r.string_attr(kAttrImageRoot);
  if (s.counts.has_logits) s.bank_id = r.string_attr(kAttrBankId, kLogitsTopkValues);
  return s;
}

OpenedShard open_checked_shard(const std::filesystem::path& dir, const CacheIndex& index, const ShardInfo& info) {
  const std::filesystem::path file = dir / info.file;
  std::error_code ec;
  // The whole file is read once (docs/cache-format.md gives the cost); HDF5 then opens bytes known to be intact.
  const std::string got =
      info.sha256.empty() || !std::filesystem::is_regular_file(file, ec) ? std::string() : sha256_file_hex(file);
  const bool intact = !got.empty() && got == info.sha256;
  OpenedShard s{ShardReader(file, intact ? ShardTrust::kChecked : ShardTrust::kUnchecked), {}};
  s.checked = check_shard_against_index(s.reader, index, info);
  if (!got.empty() && !intact)
    throw Error("shard does not match its checksum in index.json (changed or corrupt)").file(file.string())
        .key("sha256").expected(info.sha256).got(got)
        .hint("re-extract the cache (kd-extract on the same folder repairs shards that fail this check)");
  return s;
}

CheckedCache check_cache(const std::filesystem::path& dir, const std::string& kind) {
  CheckedCache c;
  c.dir = dir;
  c.index_file = index_path_for(dir);
  c.index = read_cache_index(c.index_file);
  const std::string index_file = c.index_file.string();
  if (!kind.empty() && c.index.kind != kind)
    throw Error("cache is of the wrong kind").file(index_file).key("kind").expected(kind).got(c.index.kind);
  for (const ShardInfo& info : c.index.shards) {
    CheckedShard s = open_checked_shard(dir, c.index, info).checked;
    if (!c.shards.empty()) {
      const CheckedShard& first = c.shards.front();
      const std::string file = s.path.string();
      const std::string against = " (as in " + first.path.filename().string() + ")";
      if (s.counts.views != first.counts.views)
        throw Error("shards of one cache differ").file(file).key(kAttrViews)
            .expected(std::to_string(first.counts.views) + against).got(std::to_string(s.counts.views));
      if (s.preprocess != first.preprocess)
        throw Error("shards of one cache differ").file(file).key(kAttrPreprocess)
            .expected(first.preprocess + against).got(s.preprocess);
      if (s.logit_scale != first.logit_scale)
        throw Error("shards of one cache differ").file(file).key(kAttrLogitScale)
            .expected(std::to_string(first.logit_scale) + against).got(std::to_string(s.logit_scale));
      if (s.counts.has_logits != first.counts.has_logits || s.bank_id != first.bank_id)
        throw Error("shards of one cache differ").file(file).key(std::string(kLogitsTopkValues) + "@" + kAttrBankId)
            .expected(quote_text(first.bank_id) + against).got(quote_text(s.bank_id));
    }
    c.shards.push_back(std::move(s));
  }
  return c;
}

}  // namespace kd::cache
