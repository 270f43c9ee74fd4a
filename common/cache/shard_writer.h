// Writes one cache shard (HDF5): root/dataset attributes and whole datasets, chunked, shuffled, zstd-compressed and
// Fletcher32-checksummed, into "<final>.tmp"; commit() renames it into place so a shard appears only complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cache/h5_handles.h"
#include "common/util/enum_names.h"

namespace kd::cache {

// How a float32 input array is stored in the file.
enum class FloatStorage { kFloat16, kFloat32 };
inline const std::vector<EnumSpelling<FloatStorage>>& enum_spellings(FloatStorage) {  // kd-extract --dtype
  static const std::vector<EnumSpelling<FloatStorage>> kNames = {{FloatStorage::kFloat16, {"fp16", "float16"}},
                                                                {FloatStorage::kFloat32, {"fp32", "float32"}}};
  return kNames;
}

struct ShardWriterOptions {
  int zstd_level = 3;                   // cd_values[0] of filter 32015
  int64_t target_chunk_bytes = 1 << 20; // rows per chunk are chosen so a chunk holds about this much (uncompressed)
};

class ShardWriter {
 public:
  // Creates "<final_path>.tmp" (truncating a stale one) and registers the zstd filter. Parent folders must exist.
  explicit ShardWriter(std::filesystem::path final_path, ShardWriterOptions options = {});
  // Without commit(): closes and removes the .tmp.
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Attributes on the root (dataset empty) or on an already written dataset. Strings are variable-length UTF-8.
  // write_strings also stores the strings' digest as the dataset's sha256 attribute (cache_schema.h).
  void set_string_attr(const std::string& name, const std::string& value, const std::string& dataset = {});
  void set_int_attr(const std::string& name, int64_t value, const std::string& dataset = {});
  void set_double_attr(const std::string& name, double value, const std::string& dataset = {});

  // Whole datasets in one go. `shape` is row-major, shape[0] = rows; data holds product(shape) values.
  // Float input is float32 and is stored as fp16 (round to nearest even; a finite value beyond +-65504 is an
  // error) or fp32 (exact).
  void write_floats(const std::string& name, const std::vector<int64_t>& shape, const float* data,
                    FloatStorage storage);
  void write_floats(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& data,
                    FloatStorage storage);
  void write_int32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int32_t>& data);
  // [N] variable-length UTF-8 strings (bytes written as given; callers pass UTF-8).
  void write_strings(const std::string& name, const std::vector<std::string>& values);

  // Closes the file, fsyncs and renames "<final>.tmp" to <final> (fsyncing the folder). The writer is then done.
  void commit();

  const std::filesystem::path& final_path() const { return final_path_; }
  const std::filesystem::path& temp_path() const { return tmp_path_; }

 private:
  H5Id create_dataset(const std::string& name, const std::vector<int64_t>& shape, hid_t file_type,
                      size_t element_bytes, bool shuffle);
  void require_open(const std::string& what) const;
  H5Id open_target(const std::string& dataset);

  std::filesystem::path final_path_, tmp_path_;
  ShardWriterOptions options_;
  H5Id file_;
  bool committed_ = false;
};

// Chunk rows for a dataset of `rows` rows of `row_bytes` each: about target_bytes per chunk, at least 1, at most rows.
int64_t chunk_rows_for(int64_t rows, int64_t row_bytes, int64_t target_bytes);

}  // namespace kd::cache
