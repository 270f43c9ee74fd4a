// Safetensors files without LibTorch: a read-only, memory-mapped reader that validates the whole header before use,
// and an atomic writer. Checkpoints, exports and golden references all go through this one reader and writer.
//
// The format, as kd reads and writes it:
//   bytes [0, 8)        N, an unsigned 64-bit little-endian integer: the length of the header in bytes.
//   bytes [8, 8 + N)    the header: UTF-8 JSON holding one object. Each member is a tensor,
//                         "<name>": {"dtype": "F32", "shape": [8, 3, 224, 224], "data_offsets": [begin, end]}
//                       where dtype is one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL, shape lists the sizes of the
//                       dimensions (an empty list is a scalar) and [begin, end) is the tensor's byte range counted
//                       from the first byte after the header. One optional member "__metadata__" maps strings to
//                       strings (e.g. {"format": "pt"}). Writers may pad the header with trailing spaces.
//   bytes [8 + N, end)  the data section: each tensor's elements, row-major (C order), little-endian, packed;
//                       end - begin is exactly product(shape) * size of dtype (BOOL is one byte per element).
//
// Reader checks (each failure is a kd::Error naming the file, the tensor when there is one, expected and got):
// the file holds the 8 length bytes; the header fits in the file and is at most 100 MB; it is a JSON object; every
// tensor has a known dtype string, a shape of non-negative integers, and two non-negative integer offsets with
// begin <= end <= size of the data section and end - begin matching shape and dtype; non-empty tensors do not
// overlap; __metadata__ is an object of strings; no name appears twice. Gaps between tensors are tolerated.
//
// Writer layout: the header is padded with spaces so that the data section starts at a multiple of 8 bytes; the
// tensors follow without gaps, ordered by element size (largest first) and then by name, so every tensor begins at
// a multiple of its own element size and can be viewed in place by a reader that maps the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/util/shape_string.h"  // shape_to_string, used with this reader everywhere

namespace kd {

// Bytes per element of a safetensors dtype string ("F32" -> 4, "BOOL" -> 1); throws kd::Error for an unknown one.
size_t safetensors_dtype_size(const std::string& dtype);


// One tensor of an open file. `data` points into the file's read-only mapping (valid while the file is open) and is
// only guaranteed byte-aligned; copy with memcpy rather than casting to a wider type.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;            // "F32", "I32", ...
  std::vector<int64_t> shape;   // [] for a scalar
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;           // product(shape) * safetensors_dtype_size(dtype)
};

// A safetensors file mapped read-only into memory. Everything is validated in open(); afterwards lookups only fail
// for names that are not there. Movable, not copyable; the mapping is released on destruction.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // Throws kd::Error naming the file and the key when there is no such tensor.
  const SafetensorsEntry& at(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  void release() noexcept;

  std::filesystem::path path_;
  void* mapping_ = nullptr;   // the whole file, PROT_READ
  size_t mapping_size_ = 0;   // bytes
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: `data` holds n_bytes of row-major little-endian elements and must stay valid during the call.
struct SafetensorsTensorRef {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t n_bytes = 0;
};

// Writes `tensors` and `metadata` to `path` atomically (temporary file, fsync, rename; parent folders are created).
// Throws kd::Error, writing nothing, when a name is empty, repeated or "__metadata__", a dtype is unknown, a
// dimension is negative, or n_bytes != product(shape) * dtype size.
void write_safetensors(const std::filesystem::path& path, const std::vector<SafetensorsTensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace kd
