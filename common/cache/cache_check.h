// Trusting a cache: every shard is checked against DIR/index.json (kind, teacher, width, views, rows,
// preprocessing, extract options, keys digest) before any of its rows is used. docs/cache-format.md lists the checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"

namespace kd::cache {

// What one checked shard says about itself (metadata only: nothing here grows with its rows).
struct CheckedShard {
  std::filesystem::path path;
  ShardCounts counts;
  double logit_scale = 0;
  std::string preprocess;      // the preprocess attribute (JSON text)
  std::string image_root;      // image and val shards; empty for text
  std::string bank_id;         // cached top-k logits: the bank's id; empty without
};

// A cache whose index and every shard's metadata agree.
struct CheckedCache {
  std::filesystem::path dir, index_file;
  CacheIndex index;
  std::vector<CheckedShard> shards;  // in index order
};

// Checks one open shard against its index entry: schema (validate_shard_schema), kind, teacher_id, embed_dim, rows
// (and val caption rows) as index.json says, extract options equal to index.options where both record them, and the
// keys dataset's digest attribute equal to the entry's keys_sha256 where recorded. The contents themselves are
// checked as they are read (Fletcher32 per chunk, the strings digest per whole string dataset).
// Throws kd::Error naming the shard file, the attribute or dataset, expected and got.
CheckedShard check_shard_against_index(ShardReader& reader, const CacheIndex& index, const ShardInfo& info);

// A shard opened and checked against its index entry.
struct OpenedShard {
  ShardReader reader;
  CheckedShard checked;
};

// Opens shard `info` of the cache in `dir` safely and checks it (check_shard_against_index). When index.json records
// the file's sha256 it is computed before HDF5 opens the file; a file that matches opens trusted (ShardTrust), any
// other is walked first (global_heap_check.h), then checked, so a foreign or short shard is still named for what is
// wrong with it; one that passes every other check but not its digest is refused for the digest. Afterwards the
// file may be reopened with ShardTrust::kChecked. Throws kd::Error naming the shard file.
OpenedShard open_checked_shard(const std::filesystem::path& dir, const CacheIndex& index, const ShardInfo& info);

// Reads DIR/index.json (kind must be `kind` unless empty) and checks every shard it lists with
// check_shard_against_index; all shards must share views, preprocessing, logit_scale and bank. Shard names and
// keys digests are unique (cache_index_from_json). Throws kd::Error naming the file.
CheckedCache check_cache(const std::filesystem::path& dir, const std::string& kind);

// The key dataset the index's keys_sha256 covers: "keys" (image, text) or "image_keys" (val).
const char* keys_dataset_for(const std::string& kind);

}  // namespace kd::cache
