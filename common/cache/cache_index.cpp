// Reading, validating and atomically writing a cache's index.json.
#include "common/cache/cache_index.h"

#include <cstdio>

#include "common/cache/cache_schema.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd::cache {
namespace {

using json = nlohmann::json;

const json& require(const json& obj, const std::string& key, const std::string& path, const std::string& origin) {
  auto it = obj.find(key);
  if (it == obj.end()) throw Error("index key missing").file(origin).key(path + key);
  return *it;
}

std::string require_string(const json& obj, const std::string& key, const std::string& path,
                           const std::string& origin) {
  const json& v = require(obj, key, path, origin);
  if (!v.is_string()) throw Error("index value has the wrong type").file(origin).key(path + key)
                          .expected("string").got(v.dump());
  return v.get<std::string>();
}

int64_t require_count(const json& obj, const std::string& key, const std::string& path, const std::string& origin) {
  const json& v = require(obj, key, path, origin);
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    throw Error("index value has the wrong type").file(origin).key(path + key)
        .expected("non-negative integer").got(v.dump());
  return v.get<int64_t>();
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char ch : s)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

}  // namespace

std::string shard_file_name(int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05lld.h5", static_cast<long long>(index));
  return buf;
}

std::filesystem::path index_path_for(const std::filesystem::path& cache_dir) { return cache_dir / "index.json"; }

json cache_index_to_json(const CacheIndex& index) {
  json shards = json::array();
  for (const ShardInfo& s : index.shards) {
    json e = {{"file", s.file}, {"n_rows", s.n_rows}, {"n_text_rows", s.n_text_rows}};
    if (!s.sha256.empty()) e["sha256"] = s.sha256;
    if (!s.keys_sha256.empty()) e["keys_sha256"] = s.keys_sha256;
    shards.push_back(std::move(e));
  }
  return json{{"kd_format", index.format},     {"kd_version", index.version},   {"kind", index.kind},
              {"teacher_id", index.teacher_id}, {"embed_dim", index.embed_dim}, {"options", index.options},
              {"shards", shards},               {"total_rows", index.total_rows},
              {"total_text_rows", index.total_text_rows}};
}

CacheIndex cache_index_from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("index is not a JSON object").file(origin);
  CacheIndex ix;
  ix.format = require_string(j, "kd_format", "", origin);
  if (ix.format != kFormatName)
    throw Error("not a kd cache index").file(origin).key("kd_format")
        .expected(std::string("\"") + kFormatName + "\"").got("\"" + ix.format + "\"");
  const json ver = require(j, "kd_version", "", origin);  // copies: GCC 13 flags references via temporaries
  if (!ver.is_number_integer() || !is_readable_version(ver.get<int64_t>()))
    throw Error("unsupported kd cache format version").file(origin).key("kd_version")
        .expected(std::to_string(kOldestReadableVersion) + ".." + std::to_string(kFormatVersion)).got(ver.dump());
  ix.version = ver.get<int64_t>();
  ix.kind = require_string(j, "kind", "", origin);
  if (!is_known_kind(ix.kind))
    throw Error("unknown cache kind").file(origin).key("kind").expected("image, text or val").got(ix.kind);
  ix.teacher_id = require_string(j, "teacher_id", "", origin);
  if (ix.teacher_id.empty()) throw Error("teacher_id is empty").file(origin).key("teacher_id");
  ix.embed_dim = require_count(j, "embed_dim", "", origin);
  if (ix.embed_dim == 0) throw Error("embed_dim must be positive").file(origin).key("embed_dim").got("0");
  ix.options = require(j, "options", "", origin);
  if (!ix.options.is_object())
    throw Error("index value has the wrong type").file(origin).key("options").expected("object")
        .got(ix.options.dump().substr(0, 80));
  const json shards = require(j, "shards", "", origin);
  if (!shards.is_array()) throw Error("index value has the wrong type").file(origin).key("shards").expected("array");
  int64_t rows = 0, text_rows = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string path = "shards[" + std::to_string(i) + "].";
    const json& e = shards[i];
    if (!e.is_object()) throw Error("shard entry is not an object").file(origin).key("shards[" + std::to_string(i) + "]");
    ShardInfo s;
    s.file = require_string(e, "file", path, origin);
    if (s.file.empty() || s.file.find('/') != std::string::npos || s.file == "." || s.file == "..")
      throw Error("shard file must be a plain name inside the cache folder").file(origin).key(path + "file")
          .got("\"" + s.file + "\"");
    s.n_rows = require_count(e, "n_rows", path, origin);
    s.n_text_rows = e.contains("n_text_rows") ? require_count(e, "n_text_rows", path, origin) : 0;
    if (e.contains("sha256")) {
      s.sha256 = require_string(e, "sha256", path, origin);
      if (!s.sha256.empty() && !is_hex64(s.sha256))
        throw Error("sha256 is not 64 lowercase hex digits").file(origin).key(path + "sha256").got(s.sha256);
    }
    if (e.contains("keys_sha256")) {
      s.keys_sha256 = require_string(e, "keys_sha256", path, origin);
      if (!s.keys_sha256.empty() && !is_hex64(s.keys_sha256))
        throw Error("keys_sha256 is not 64 lowercase hex digits").file(origin).key(path + "keys_sha256")
            .got(s.keys_sha256);
    }
    for (const ShardInfo& other : ix.shards) {
      if (other.file == s.file)
        throw Error("shard listed twice").file(origin).key(path + "file").got("\"" + s.file + "\"");
      if (!s.keys_sha256.empty() && other.keys_sha256 == s.keys_sha256)
        throw Error("two shards hold the same keys (a duplicated shard)").file(origin).key(path + "keys_sha256")
            .expected("keys unique across the cache").got(s.file + " repeats " + other.file);
    }
    rows += s.n_rows;
    text_rows += s.n_text_rows;
    ix.shards.push_back(std::move(s));
  }
  ix.total_rows = require_count(j, "total_rows", "", origin);
  if (ix.total_rows != rows)
    throw Error("total_rows disagrees with the shards").file(origin).key("total_rows")
        .expected(std::to_string(rows) + " (sum of shards[].n_rows)").got(std::to_string(ix.total_rows));
  ix.total_text_rows = j.contains("total_text_rows") ? require_count(j, "total_text_rows", "", origin) : 0;
  if (ix.total_text_rows != text_rows)
    throw Error("total_text_rows disagrees with the shards").file(origin).key("total_text_rows")
        .expected(std::to_string(text_rows) + " (sum of shards[].n_text_rows)")
        .got(std::to_string(ix.total_text_rows));
  return ix;
}

CacheIndex read_cache_index(const std::filesystem::path& index_file) {
  const std::string text = read_file(index_file);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error("index is not valid JSON").file(index_file.string());
  return cache_index_from_json(j, index_file.string());
}

void write_cache_index(const std::filesystem::path& index_file, CacheIndex index) {
  index.total_rows = 0;
  index.total_text_rows = 0;
  for (const ShardInfo& s : index.shards) {
    index.total_rows += s.n_rows;
    index.total_text_rows += s.n_text_rows;
  }
  index.version = kFormatVersion;
  // Validate what we are about to publish, so a bad index never lands.
  const json j = cache_index_to_json(index);
  cache_index_from_json(j, index_file.string());
  write_file_atomic(index_file, j.dump(2) + "\n");
}

}  // namespace kd::cache
