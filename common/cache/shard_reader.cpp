// ShardReader: read-only HDF5 access with format checks, typed attribute reads and row-range dataset reads.
#include "common/cache/shard_reader.h"

#include <algorithm>
#include <initializer_list>

#include "common/cache/cache_schema.h"
#include "common/cache/float16.h"
#include "common/cache/global_heap_check.h"
#include "common/cache/zstd_filter.h"
#include "common/util/error.h"
#include "common/util/sha256.h"
#include "common/util/shape_string.h"

namespace kd::cache {
namespace {

std::vector<int64_t> space_shape(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

StoredType classify(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_FLOAT: {
      const size_t size = H5Tget_size(type);
      if (size == 2) return StoredType::kFloat16;
      if (size == 4) return StoredType::kFloat32;
      return StoredType::kOtherFloat;
    }
    case H5T_INTEGER:
      return (H5Tget_size(type) == 4 && H5Tget_sign(type) == H5T_SGN_2) ? StoredType::kInt32
                                                                          : StoredType::kOtherInteger;
    case H5T_STRING:
      return StoredType::kString;
    default:
      return StoredType::kOther;
  }
}

// The selection of a row range: fills `mem_shape` and selects the hyperslab in `file_space` (a copy).
struct Selection {
  H5Id file_space, mem_space;
  std::vector<int64_t> shape;
  size_t count = 0;
};

Selection select_rows(hid_t dataset, RowRange rows, const std::string& file, const std::string& name) {
  Selection sel;
  sel.file_space = h5_dataspace(H5Dget_space(dataset));
  h5_check(sel.file_space.get(), "cannot get dataspace", file, name);
  const std::vector<int64_t> full = space_shape(sel.file_space.get());
  if (full.empty()) throw Error("dataset is scalar, expected rows").file(file).key(name).got("rank 0");
  const int64_t n = full[0];
  const int64_t begin = rows.begin;
  const int64_t count = rows.count < 0 ? n - begin : rows.count;
  if (begin < 0 || begin > n || count < 0 || begin + count > n)
    throw Error("row range outside the dataset").file(file).key(name)
        .expected("rows within [0, " + std::to_string(n) + ")")
        .got("[" + std::to_string(begin) + ", " + std::to_string(begin + count) + ")");
  sel.shape = full;
  sel.shape[0] = count;
  sel.count = 1;
  for (int64_t d : sel.shape) sel.count *= static_cast<size_t>(d);
  std::vector<hsize_t> start(full.size(), 0), extent(sel.shape.begin(), sel.shape.end());
  start[0] = static_cast<hsize_t>(begin);
  if (sel.count == 0) {
    h5_check(H5Sselect_none(sel.file_space.get()), "cannot select", file, name);
    sel.mem_space = h5_dataspace(H5Screate(H5S_NULL));
    return sel;
  }
  h5_check(H5Sselect_hyperslab(sel.file_space.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
           "cannot select rows", file, name);
  sel.mem_space = h5_dataspace(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr));
  h5_check(sel.mem_space.get(), "cannot create memory dataspace", file, name);
  return sel;
}

void check_rank(const std::vector<int64_t>& shape, int expected_rank, const std::string& file,
                const std::string& name) {
  if (expected_rank >= 0 && static_cast<int>(shape.size()) != expected_rank)
    throw Error("dataset has the wrong rank").file(file).key(name)
        .expected("rank " + std::to_string(expected_rank)).got("shape " + shape_to_string(shape));
}

// The stored type of an open dataset (one of `allowed`, else kd::Error naming `expected`) and its row selection of
// the expected rank: the common opening of every typed row read.
struct TypedRows {
  StoredType type = StoredType::kOther;
  Selection sel;
};

TypedRows select_typed_rows(hid_t dataset, RowRange rows, int expected_rank, std::initializer_list<StoredType> allowed,
                            const char* expected, const std::string& file, const std::string& name) {
  H5Id type = h5_datatype(H5Dget_type(dataset));
  h5_check(type.get(), "cannot get datatype", file, name);
  TypedRows t;
  t.type = classify(type.get());
  if (std::find(allowed.begin(), allowed.end(), t.type) == allowed.end())
    throw Error("dataset has the wrong type").file(file).key(name).expected(expected).got(stored_type_name(t.type));
  t.sel = select_rows(dataset, rows, file, name);
  check_rank(t.sel.shape, expected_rank, file, name);
  return t;
}

}  // namespace

std::string strings_sha256(const std::vector<std::string>& values) {
  std::string bytes;
  size_t n = 0;
  for (const auto& v : values) n += v.size() + 1;
  bytes.reserve(n);
  for (const auto& v : values) {
    bytes += v;
    bytes.push_back('\0');
  }
  return sha256_hex(bytes);
}

std::string stored_type_name(StoredType t) {
  switch (t) {
    case StoredType::kFloat16: return "float16";
    case StoredType::kFloat32: return "float32";
    case StoredType::kOtherFloat: return "float (not 16/32-bit)";
    case StoredType::kInt32: return "int32";
    case StoredType::kOtherInteger: return "integer (not int32)";
    case StoredType::kString: return "string";
    default: return "other";
  }
}

ShardReader::ShardReader(std::filesystem::path path, ShardTrust trust) : path_(std::move(path)) {
  H5Quiet quiet;
  register_zstd_filter();
  const std::string file = path_.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path_, ec)) throw Error("shard not found").file(file);
  if (H5Fis_hdf5(path_.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error("not an HDF5 file").file(file).expected("a kd-cache shard (HDF5)");
  }
  if (trust == ShardTrust::kUnchecked) check_global_heaps(path_);
  file_ = h5_file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5_check(file_.get(), "cannot open shard", file);
  if (!has_attr(kAttrFormat))
    throw Error("not a kd cache shard: root attribute missing").file(file).key(kAttrFormat)
        .expected(std::string("\"") + kFormatName + "\"").got("no attribute");
  const std::string format = string_attr(kAttrFormat);
  if (format != kFormatName)
    throw Error("not a kd cache shard").file(file).key(kAttrFormat)
        .expected(std::string("\"") + kFormatName + "\"").got("\"" + format + "\"");
  if (!has_attr(kAttrVersion))
    throw Error("kd cache shard without a version").file(file).key(kAttrVersion)
        .expected(std::to_string(kFormatVersion)).got("no attribute");
  const int64_t version = int_attr(kAttrVersion);
  if (!is_readable_version(version))
    throw Error("unsupported kd cache format version").file(file).key(kAttrVersion)
        .expected(std::to_string(kOldestReadableVersion) + ".." + std::to_string(kFormatVersion))
        .got(std::to_string(version))
        .hint("re-extract the cache with this kd, or use the kd that wrote it");
}

H5Id ShardReader::open_dataset(const std::string& name) const {
  const std::string file = path_.string();
  if (!has_dataset(name)) throw Error("dataset missing").file(file).key(name).expected("dataset present");
  H5Id ds = h5_dataset(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT));
  h5_check(ds.get(), "cannot open dataset", file, name);
  return ds;
}

H5Id ShardReader::open_attr(const std::string& name, const std::string& dataset) const {
  const std::string file = path_.string();
  const std::string where = dataset.empty() ? name : dataset + "@" + name;
  if (!has_attr(name, dataset)) throw Error("attribute missing").file(file).key(where);
  H5Id attr = h5_attribute(H5Aopen_by_name(file_.get(), dataset.empty() ? "/" : dataset.c_str(), name.c_str(),
                                           H5P_DEFAULT, H5P_DEFAULT));
  h5_check(attr.get(), "cannot open attribute", file, where);
  return attr;
}

bool ShardReader::has_attr(const std::string& name, const std::string& dataset) const {
  H5Quiet quiet;
  if (!dataset.empty() && !has_dataset(dataset)) return false;
  const htri_t e = H5Aexists_by_name(file_.get(), dataset.empty() ? "/" : dataset.c_str(), name.c_str(),
                                     H5P_DEFAULT);
  h5_check(e, "cannot query attribute", path_.string(), name);
  return e > 0;
}

std::string ShardReader::string_attr(const std::string& name, const std::string& dataset) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  const std::string where = dataset.empty() ? name : dataset + "@" + name;
  H5Id attr = open_attr(name, dataset);
  H5Id type = h5_datatype(H5Aget_type(attr.get()));
  h5_check(type.get(), "cannot get attribute type", file, where);
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw Error("attribute has the wrong type").file(file).key(where).expected("string");
  H5Id space = h5_dataspace(H5Aget_space(attr.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    throw Error("attribute is not a single value").file(file).key(where).expected("scalar string");
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Id mem = h5_datatype(H5Tcopy(type.get()));  // same character set as stored: no ASCII/UTF-8 conversion
    char* value = nullptr;
    h5_check(H5Aread(attr.get(), mem.get(), &value), "cannot read attribute", file, where);
    std::string out = value ? value : "";
    H5free_memory(value);
    return out;
  }
  const size_t size = H5Tget_size(type.get());  // fixed-length string (e.g. written by h5py with np.bytes_)
  std::string out(size, '\0');
  h5_check(H5Aread(attr.get(), type.get(), out.data()), "cannot read attribute", file, where);
  out.resize(std::find(out.begin(), out.end(), '\0') - out.begin());
  return out;
}

int64_t ShardReader::int_attr(const std::string& name, const std::string& dataset) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  const std::string where = dataset.empty() ? name : dataset + "@" + name;
  H5Id attr = open_attr(name, dataset);
  H5Id type = h5_datatype(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER)
    throw Error("attribute has the wrong type").file(file).key(where).expected("integer");
  H5Id space = h5_dataspace(H5Aget_space(attr.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    throw Error("attribute is not a single value").file(file).key(where).expected("scalar integer");
  int64_t v = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), "cannot read attribute", file, where);
  return v;
}

double ShardReader::double_attr(const std::string& name, const std::string& dataset) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  const std::string where = dataset.empty() ? name : dataset + "@" + name;
  H5Id attr = open_attr(name, dataset);
  H5Id type = h5_datatype(H5Aget_type(attr.get()));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw Error("attribute has the wrong type").file(file).key(where).expected("number");
  H5Id space = h5_dataspace(H5Aget_space(attr.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    throw Error("attribute is not a single value").file(file).key(where).expected("scalar number");
  double v = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v), "cannot read attribute", file, where);
  return v;
}

bool ShardReader::has_dataset(const std::string& name) const {
  H5Quiet quiet;
  if (name.empty() || name.find('/') != std::string::npos) return false;
  const htri_t e = H5Lexists(file_.get(), name.c_str(), H5P_DEFAULT);
  h5_check(e, "cannot query dataset", path_.string(), name);
  if (e <= 0) return false;
  H5Id obj(H5Oopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.valid()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Iget_type(obj.get()) == H5I_DATASET;
}

namespace {
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> ShardReader::dataset_names() const {
  H5Quiet quiet;
  std::vector<std::string> links, out;
  h5_check(H5Literate(file_.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &links),
           "cannot list datasets", path_.string());
  for (const auto& n : links)
    if (has_dataset(n)) out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> ShardReader::shape(const std::string& name, int expected_rank) const {
  H5Quiet quiet;
  H5Id ds = open_dataset(name);
  H5Id space = h5_dataspace(H5Dget_space(ds.get()));
  h5_check(space.get(), "cannot get dataspace", path_.string(), name);
  std::vector<int64_t> s = space_shape(space.get());
  check_rank(s, expected_rank, path_.string(), name);
  return s;
}

StoredType ShardReader::stored_type(const std::string& name) const {
  H5Quiet quiet;
  H5Id ds = open_dataset(name);
  H5Id type = h5_datatype(H5Dget_type(ds.get()));
  h5_check(type.get(), "cannot get datatype", path_.string(), name);
  return classify(type.get());
}

ArrayF32 ShardReader::read_floats(const std::string& name, RowRange rows, int expected_rank) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  H5Id ds = open_dataset(name);
  const TypedRows t = select_typed_rows(ds.get(), rows, expected_rank,
                                        {StoredType::kFloat16, StoredType::kFloat32, StoredType::kOtherFloat},
                                        "float16 or float32", file, name);
  const Selection& sel = t.sel;
  ArrayF32 out;
  out.shape = sel.shape;
  out.data.resize(sel.count);
  if (sel.count == 0) return out;
  if (t.type == StoredType::kFloat16) {
    // Read the raw halves (no HDF5 conversion) and widen them exactly.
    std::vector<uint16_t> halves(sel.count);
    H5Id mem = h5_float16_type();
    h5_check(H5Dread(ds.get(), mem.get(), sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT, halves.data()),
             "cannot read", file, name);
    halves_to_floats(halves.data(), out.data.data(), sel.count);
  } else {
    h5_check(H5Dread(ds.get(), H5T_NATIVE_FLOAT, sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT,
                     out.data.data()),
             "cannot read", file, name);
  }
  return out;
}

ArrayI32 ShardReader::read_int32(const std::string& name, RowRange rows, int expected_rank) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  H5Id ds = open_dataset(name);
  const TypedRows t = select_typed_rows(ds.get(), rows, expected_rank, {StoredType::kInt32}, "int32", file, name);
  const Selection& sel = t.sel;
  ArrayI32 out;
  out.shape = sel.shape;
  out.data.resize(sel.count);
  if (sel.count == 0) return out;
  h5_check(H5Dread(ds.get(), H5T_NATIVE_INT32, sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT,
                   out.data.data()),
           "cannot read", file, name);
  return out;
}

std::vector<std::string> ShardReader::read_strings(const std::string& name, RowRange rows) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  H5Id ds = open_dataset(name);
  H5Id type = h5_datatype(H5Dget_type(ds.get()));
  h5_check(type.get(), "cannot get datatype", file, name);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0)
    throw Error("dataset has the wrong type").file(file).key(name).expected("variable-length UTF-8 strings")
        .got(stored_type_name(classify(type.get())));
  Selection sel = select_rows(ds.get(), rows, file, name);
  check_rank(sel.shape, 1, file, name);
  std::vector<std::string> out;
  if (sel.count == 0) return out;
  H5Id mem = h5_datatype(H5Tcopy(type.get()));  // same character set as stored (ASCII or UTF-8): bytes as they are
  h5_check(mem.get(), "cannot copy datatype", file, name);
  std::vector<char*> ptrs(sel.count, nullptr);
  h5_check(H5Dread(ds.get(), mem.get(), sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT, ptrs.data()),
           "cannot read", file, name);
  out.reserve(sel.count);
  for (char* p : ptrs) out.emplace_back(p ? p : "");
#if H5_VERSION_GE(1, 12, 0)
  H5Treclaim(mem.get(), sel.mem_space.get(), H5P_DEFAULT, ptrs.data());
#else
  H5Dvlen_reclaim(mem.get(), sel.mem_space.get(), H5P_DEFAULT, ptrs.data());
#endif
  // A whole dataset is checked against its digest (version 2; HDF5 cannot checksum variable-length data).
  if (sel.shape[0] == shape(name)[0] && has_attr(kAttrStringsSha256, name)) {
    const std::string want = string_attr(kAttrStringsSha256, name), got = strings_sha256(out);
    if (got != want)
      throw Error("strings do not match their checksum (the shard is corrupt)").file(file)
          .key(name + "@" + kAttrStringsSha256).expected(want).got(got)
          .hint("re-extract this shard (rerun kd-extract on the cache folder)");
  }
  return out;
}

StoredArray ShardReader::read_stored(const std::string& name, RowRange rows, int expected_rank) const {
  H5Quiet quiet;
  const std::string file = path_.string();
  H5Id ds = open_dataset(name);
  const TypedRows t = select_typed_rows(ds.get(), rows, expected_rank,
                                        {StoredType::kFloat16, StoredType::kFloat32, StoredType::kInt32},
                                        "float16, float32 or int32", file, name);
  const Selection& sel = t.sel;
  StoredArray out;
  out.type = t.type;
  out.shape = sel.shape;
  const size_t element = t.type == StoredType::kFloat16 ? 2 : 4;
  out.bytes.resize(sel.count * element);
  if (sel.count == 0) return out;
  H5Id mem = t.type == StoredType::kFloat16 ? h5_float16_type()
                                             : h5_datatype(H5Tcopy(t.type == StoredType::kFloat32 ? H5T_NATIVE_FLOAT
                                                                                                  : H5T_NATIVE_INT32));
  h5_check(H5Dread(ds.get(), mem.get(), sel.mem_space.get(), sel.file_space.get(), H5P_DEFAULT, out.bytes.data()),
           "cannot read", file, name);
  return out;
}

}  // namespace kd::cache
