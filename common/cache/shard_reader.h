// Reads one cache shard (HDF5) read-only: checks kd_format / kd_version on open, then reads attributes and whole
// datasets or row ranges, converting fp16 to float32. Errors name the file, the dataset, expected and got.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cache/h5_handles.h"

namespace kd::cache {

// A dense row-major array and its shape; data.size() == product(shape).
struct ArrayF32 {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
struct ArrayI32 {
  std::vector<int64_t> shape;
  std::vector<int32_t> data;
};

// Rows [begin, begin + count) along dimension 0; count < 0 means "to the end".
struct RowRange {
  int64_t begin = 0;
  int64_t count = -1;
};

// What a dataset stores, as far as kd cares.
enum class StoredType { kFloat16, kFloat32, kOtherFloat, kInt32, kOtherInteger, kString, kOther };
std::string stored_type_name(StoredType t);

// Rows as stored, not converted: float16 (2 bytes per value, IEEE binary16), float32 or int32 (4 bytes).
struct StoredArray {
  StoredType type = StoredType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // product(shape) values, native byte order
};

// The version-2 digest of a string dataset: SHA-256 hex of the strings, each followed by one NUL byte.
std::string strings_sha256(const std::vector<std::string>& values);

// Whether the file's bytes were checked before this open. HDF5 1.10 keeps no checksum on its global heap (where
// variable-length strings live) and crashes on a corrupted one, so an unchecked file is walked first
// (global_heap_check.h: reads the whole file once).
enum class ShardTrust {
  kUnchecked,  // walk the global heaps before HDF5 opens the file
  kChecked,    // the caller checked the file: its sha256 from index.json, or a walk by an earlier open
};

class ShardReader {
 public:
  // Opens read-only; registers the zstd filter; throws kd::Error (file, expected, got) unless the root attributes
  // say kd_format == "kd-cache" and kd_version is readable (1 or 2). A corrupt file is a kd::Error naming it.
  explicit ShardReader(std::filesystem::path path, ShardTrust trust = ShardTrust::kUnchecked);
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;
  ShardReader(ShardReader&&) = default;

  const std::filesystem::path& path() const { return path_; }

  // Attributes on the root (dataset empty) or on a dataset. Missing attribute or wrong type -> kd::Error.
  bool has_attr(const std::string& name, const std::string& dataset = {}) const;
  std::string string_attr(const std::string& name, const std::string& dataset = {}) const;
  int64_t int_attr(const std::string& name, const std::string& dataset = {}) const;
  double double_attr(const std::string& name, const std::string& dataset = {}) const;

  bool has_dataset(const std::string& name) const;
  std::vector<std::string> dataset_names() const;  // datasets directly under the root, sorted
  // Shape of a dataset; with expected_rank >= 0 a different rank is an error (expected vs got shape).
  std::vector<int64_t> shape(const std::string& name, int expected_rank = -1) const;
  StoredType stored_type(const std::string& name) const;

  // Whole dataset or a row range. Floats: fp16 / fp32 (/ fp64) -> float32; ints: int32; strings: UTF-8 bytes.
  // A dataset of another kind, a wrong rank (expected_rank >= 0) or a range outside [0, rows] -> kd::Error.
  ArrayF32 read_floats(const std::string& name, RowRange rows = {}, int expected_rank = -1) const;
  ArrayI32 read_int32(const std::string& name, RowRange rows = {}, int expected_rank = -1) const;
  // Reading a whole string dataset that carries a sha256 attribute (version 2) checks the strings against it.
  std::vector<std::string> read_strings(const std::string& name, RowRange rows = {}) const;
  // Rows of a float16 / float32 / int32 dataset as stored (float16 stays float16).
  StoredArray read_stored(const std::string& name, RowRange rows = {}, int expected_rank = -1) const;

 private:
  H5Id open_dataset(const std::string& name) const;
  H5Id open_attr(const std::string& name, const std::string& dataset) const;

  std::filesystem::path path_;
  H5Id file_;
};

}  // namespace kd::cache
