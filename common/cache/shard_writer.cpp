// ShardWriter: HDF5 file creation, dataset layout (chunks + shuffle + zstd + Fletcher32), attributes, atomic commit.
#include "common/cache/shard_writer.h"

#include <algorithm>
#include <system_error>

#include "common/cache/cache_schema.h"
#include "common/cache/float16.h"
#include "common/cache/shard_reader.h"
#include "common/cache/zstd_filter.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/shape_string.h"

namespace kd::cache {
namespace {

size_t checked_count(const std::vector<int64_t>& shape, const std::string& file, const std::string& name) {
  if (shape.empty()) throw Error("dataset needs at least one dimension (rows)").file(file).key(name).got("[]");
  size_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension").file(file).key(name).got(shape_to_string(shape));
    n *= static_cast<size_t>(d);
  }
  return n;
}

}  // namespace

int64_t chunk_rows_for(int64_t rows, int64_t row_bytes, int64_t target_bytes) {
  const int64_t per = std::max<int64_t>(1, target_bytes / std::max<int64_t>(1, row_bytes));
  return std::max<int64_t>(1, std::min(rows, per));
}

ShardWriter::ShardWriter(std::filesystem::path final_path, ShardWriterOptions options)
    : final_path_(std::move(final_path)), tmp_path_(temp_path_for(final_path_)), options_(options) {
  H5Quiet quiet;
  register_zstd_filter();
  // HDF5 1.10 file structures: superblock, object headers and chunk indices carry checksums, so a corrupted
  // metadata byte is reported by HDF5 instead of being followed (h5py reads these files).
  H5Id fapl = h5_plist(H5Pcreate(H5P_FILE_ACCESS));
  h5_check(fapl.get(), "cannot create file access properties", tmp_path_.string());
  h5_check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110), "cannot set HDF5 format bounds",
           tmp_path_.string());
  file_ = h5_file(H5Fcreate(tmp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  h5_check(file_.get(), "cannot create shard", tmp_path_.string());
}

ShardWriter::~ShardWriter() {
  if (committed_) return;
  H5Quiet quiet;
  file_.reset();
  H5Eclear2(H5E_DEFAULT);
  std::error_code ec;
  std::filesystem::remove(tmp_path_, ec);
}

void ShardWriter::require_open(const std::string& what) const {
  if (!file_.valid()) throw Error("shard writer is already committed: cannot " + what).file(final_path_.string());
}

H5Id ShardWriter::open_target(const std::string& dataset) {
  if (dataset.empty()) {
    H5Id root = h5_group(H5Gopen2(file_.get(), "/", H5P_DEFAULT));
    h5_check(root.get(), "cannot open root group", tmp_path_.string());
    return root;
  }
  H5Id ds = h5_dataset(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT));
  h5_check(ds.get(), "cannot open dataset to set an attribute (write the dataset first)", tmp_path_.string(),
           dataset);
  return ds;
}

namespace {

// Creates (replacing) attribute `name` on `target` with a scalar space and writes `value` of memory type `mem`.
void write_scalar_attr(hid_t target, const std::string& name, hid_t file_type, hid_t mem_type, const void* value,
                       const std::string& file, const std::string& object) {
  const std::string where = object.empty() ? name : object + "@" + name;
  if (h5_check(H5Aexists(target, name.c_str()), "cannot query attribute", file, where) > 0)
    h5_check(H5Adelete(target, name.c_str()), "cannot replace attribute", file, where);
  H5Id space = h5_dataspace(H5Screate(H5S_SCALAR));
  h5_check(space.get(), "cannot create dataspace", file, where);
  H5Id attr = h5_attribute(H5Acreate2(target, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  h5_check(attr.get(), "cannot create attribute", file, where);
  h5_check(H5Awrite(attr.get(), mem_type, value), "cannot write attribute", file, where);
}

}  // namespace

void ShardWriter::set_string_attr(const std::string& name, const std::string& value, const std::string& dataset) {
  H5Quiet quiet;
  require_open("set attribute " + name);
  H5Id target = open_target(dataset);
  H5Id type = h5_utf8_string_type();
  const char* ptr = value.c_str();
  write_scalar_attr(target.get(), name, type.get(), type.get(), &ptr, tmp_path_.string(), dataset);
}

void ShardWriter::set_int_attr(const std::string& name, int64_t value, const std::string& dataset) {
  H5Quiet quiet;
  require_open("set attribute " + name);
  H5Id target = open_target(dataset);
  write_scalar_attr(target.get(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, tmp_path_.string(), dataset);
}

void ShardWriter::set_double_attr(const std::string& name, double value, const std::string& dataset) {
  H5Quiet quiet;
  require_open("set attribute " + name);
  H5Id target = open_target(dataset);
  write_scalar_attr(target.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, tmp_path_.string(), dataset);
}

H5Id ShardWriter::create_dataset(const std::string& name, const std::vector<int64_t>& shape, hid_t file_type,
                                 size_t element_bytes, bool shuffle) {
  const std::string file = tmp_path_.string();
  if (h5_check(H5Lexists(file_.get(), name.c_str(), H5P_DEFAULT), "cannot query dataset", file, name) > 0)
    throw Error("dataset written twice").file(file).key(name);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  H5Id space = h5_dataspace(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  h5_check(space.get(), "cannot create dataspace " + shape_to_string(shape), file, name);

  H5Id dcpl = h5_plist(H5Pcreate(H5P_DATASET_CREATE));
  h5_check(dcpl.get(), "cannot create dataset properties", file, name);
  const bool empty = std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d == 0; });
  if (!empty) {  // a zero-sized dataset stays contiguous: chunks must be non-empty
    int64_t row_bytes = static_cast<int64_t>(element_bytes);
    for (size_t i = 1; i < shape.size(); ++i) row_bytes *= shape[i];
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(chunk_rows_for(shape[0], row_bytes, options_.target_chunk_bytes));
    h5_check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "cannot set chunking", file,
             name);
    // Pipeline order on write: shuffle -> zstd -> Fletcher32 (the checksum covers the stored bytes).
    // HDF5 allows only optional filters on variable-length data (strings): there zstd is optional (it compresses
    // the chunk's heap references) and Fletcher32, always mandatory, is left out.
    const bool variable = H5Tis_variable_str(file_type) > 0;
    if (shuffle && !variable) h5_check(H5Pset_shuffle(dcpl.get()), "cannot set shuffle", file, name);
    const unsigned level = static_cast<unsigned>(options_.zstd_level);
    h5_check(H5Pset_filter(dcpl.get(), static_cast<H5Z_filter_t>(kZstdFilterId),
                           variable ? H5Z_FLAG_OPTIONAL : H5Z_FLAG_MANDATORY, 1, &level),
             "cannot set the zstd filter", file, name);
    if (!variable) h5_check(H5Pset_fletcher32(dcpl.get()), "cannot set Fletcher32", file, name);
  }
  H5Id ds = h5_dataset(
      H5Dcreate2(file_.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  h5_check(ds.get(), "cannot create dataset " + shape_to_string(shape), file, name);
  return ds;
}

void ShardWriter::write_floats(const std::string& name, const std::vector<int64_t>& shape, const float* data,
                               FloatStorage storage) {
  H5Quiet quiet;
  require_open("write " + name);
  const std::string file = tmp_path_.string();
  const size_t n = checked_count(shape, file, name);
  if (storage == FloatStorage::kFloat32) {
    H5Id ds = create_dataset(name, shape, H5T_IEEE_F32LE, 4, true);
    if (n > 0) h5_check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write",
                        file, name);
    return;
  }
  // fp16: convert here (numpy's rounding, fast) and write the halves with no HDF5 conversion.
  std::vector<uint16_t> halves(n);
  const size_t bad = floats_to_halves(data, halves.data(), n);
  if (bad < n)
    throw Error("value does not fit float16 storage").file(file).key(name)
        .expected("|x| <= 65504").got(std::to_string(data[bad]) + " at flat index " + std::to_string(bad))
        .hint("store this dataset as float32");
  H5Id type = h5_float16_type();
  H5Id ds = create_dataset(name, shape, type.get(), 2, true);
  if (n > 0) h5_check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, halves.data()), "cannot write",
                      file, name);
}

void ShardWriter::write_floats(const std::string& name, const std::vector<int64_t>& shape,
                               const std::vector<float>& data, FloatStorage storage) {
  const size_t n = checked_count(shape, tmp_path_.string(), name);
  if (data.size() != n)
    throw Error("data size does not match shape " + shape_to_string(shape)).file(tmp_path_.string()).key(name)
        .expected(std::to_string(n) + " values").got(std::to_string(data.size()));
  write_floats(name, shape, data.data(), storage);
}

void ShardWriter::write_int32(const std::string& name, const std::vector<int64_t>& shape,
                              const std::vector<int32_t>& data) {
  H5Quiet quiet;
  require_open("write " + name);
  const std::string file = tmp_path_.string();
  const size_t n = checked_count(shape, file, name);
  if (data.size() != n)
    throw Error("data size does not match shape " + shape_to_string(shape)).file(file).key(name)
        .expected(std::to_string(n) + " values").got(std::to_string(data.size()));
  // Shuffle helps int32 too: token ids and indices leave their high bytes mostly zero.
  H5Id ds = create_dataset(name, shape, H5T_STD_I32LE, 4, true);
  if (n > 0) h5_check(H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
                      "cannot write", file, name);
}

void ShardWriter::write_strings(const std::string& name, const std::vector<std::string>& values) {
  H5Quiet quiet;
  require_open("write " + name);
  const std::string file = tmp_path_.string();
  std::vector<const char*> ptrs(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].find('\0') != std::string::npos)
      throw Error("string contains a NUL byte").file(file).key(name).got("row " + std::to_string(i));
    ptrs[i] = values[i].c_str();
  }
  H5Id type = h5_utf8_string_type();
  // Chunk size by the in-file reference size (16 bytes); the string bytes live in the global heap.
  H5Id ds = create_dataset(name, {static_cast<int64_t>(values.size())}, type.get(), 16, false);
  if (!values.empty())
    h5_check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "cannot write", file, name);
  ds.reset();
  set_string_attr(kAttrStringsSha256, strings_sha256(values), name);
}

void ShardWriter::commit() {
  H5Quiet quiet;
  require_open("commit");
  h5_check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), "cannot flush shard", tmp_path_.string());
  h5_check(file_.reset(), "cannot close shard", tmp_path_.string());
  commit_atomic(tmp_path_, final_path_);
  committed_ = true;
}

}  // namespace kd::cache
