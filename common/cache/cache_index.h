// DIR/index.json of a kd cache: which shards exist, their row counts, the teacher and the options they were made
// with. Written last and atomically, so a cache with an index is complete.
//
// {"kd_format": "kd-cache", "kd_version": 2, "kind": "image", "teacher_id": "<sha256>", "embed_dim": 512,
//  "options": {...}, "shards": [{"file": "shard-00000.h5", "n_rows": 4096, "n_text_rows": 0, "sha256": "...",
//  "keys_sha256": "..."}], "total_rows": 4096, "total_text_rows": 0}
// n_text_rows is the caption count of val shards (0 otherwise); sha256 (of the file) and keys_sha256 (the keys
// dataset's digest, cache_schema.h) are optional (absent or ""); kd-extract writes both. Versions 1 and 2 are read.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kd::cache {

struct ShardInfo {
  std::string file;          // name inside the cache folder, e.g. "shard-00000.h5" (no folders)
  int64_t n_rows = 0;        // image/text rows; val: image rows
  int64_t n_text_rows = 0;   // val: caption rows; 0 otherwise
  std::string sha256;        // of the shard file, lowercase hex; empty = not recorded
  std::string keys_sha256;   // strings digest of the keys (val: image_keys) dataset; empty = not recorded
};

struct CacheIndex {
  std::string format = "kd-cache";
  int64_t version = 2;       // what was read (1 or 2); written as kFormatVersion
  std::string kind;          // image | text | val
  std::string teacher_id;    // clip_weights_id of the teacher (clip/weights_id.h)
  int64_t embed_dim = 0;
  nlohmann::json options = nlohmann::json::object();  // what produced the cache (extractor options, preprocess, ...)
  std::vector<ShardInfo> shards;
  int64_t total_rows = 0;       // sum of shards[].n_rows
  int64_t total_text_rows = 0;  // sum of shards[].n_text_rows
};

// "shard-00042.h5" for index 42.
std::string shard_file_name(int64_t index);
// DIR/index.json.
std::filesystem::path index_path_for(const std::filesystem::path& cache_dir);

nlohmann::json cache_index_to_json(const CacheIndex& index);
// Validates everything (format, version, kind, types, shard names, counts and totals); kd::Error names `origin`
// (the file) and the key ("shards[3].n_rows").
CacheIndex cache_index_from_json(const nlohmann::json& j, const std::string& origin);

// Reads and validates DIR/index.json (pass the file path).
CacheIndex read_cache_index(const std::filesystem::path& index_file);
// Recomputes the totals from the shards and writes the file atomically (tmp + fsync + rename).
void write_cache_index(const std::filesystem::path& index_file, CacheIndex index);

}  // namespace kd::cache
