// Safetensors reader (mmap, full validation up front) and atomic writer. The format is described in safetensors.h.
#include "common/clip/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;  // a header past 100 MB is a corrupt length, not a model
constexpr size_t kLengthBytes = 8;                          // the u64 header length
constexpr size_t kDataAlignment = 8;                        // the writer starts the data section on this boundary
const char* const kMetadataKey = "__metadata__";

const std::map<std::string, size_t>& dtype_sizes() {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  return sizes;
}

std::string known_dtypes() {
  std::string s;
  for (const auto& [name, size] : dtype_sizes()) s += (s.empty() ? "" : "|") + name;
  return s;
}

// product(shape) * element_size, or false when it does not fit in 64 bits.
bool byte_count(const std::vector<int64_t>& shape, size_t element_size, uint64_t* out) {
  uint64_t n = element_size;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  *out = n;
  return true;
}

std::string json_type(const json& v) { return v.type_name(); }

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses one tensor's description; `data_size` is the size of the data section in bytes.
SafetensorsEntry parse_entry(const std::string& file, const std::string& name, const json& desc,
                             const uint8_t* data_section, uint64_t data_size) {
  auto fail = [&](const std::string& what) { return Error(what).file(file).key(name); };
  if (!desc.is_object()) throw fail("tensor description is not a JSON object").expected("object").got(json_type(desc));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!desc.contains(field))
      throw fail(std::string("tensor description lacks \"") + field + "\"").expected("dtype, shape, data_offsets")
          .got(desc.dump());

  SafetensorsEntry e;
  e.name = name;
  const json& dtype = desc["dtype"];
  if (!dtype.is_string()) throw fail("dtype is not a string").expected("string").got(json_type(dtype));
  e.dtype = dtype.get<std::string>();
  auto it = dtype_sizes().find(e.dtype);
  if (it == dtype_sizes().end()) throw fail("unknown dtype").expected(known_dtypes()).got("\"" + e.dtype + "\"");
  const size_t element_size = it->second;

  const json& shape = desc["shape"];
  if (!shape.is_array()) throw fail("shape is not an array").expected("array of integers").got(json_type(shape));
  for (const json& d : shape) {
    if (!d.is_number_integer())
      throw fail("shape holds a non-integer").expected("array of integers").got(shape.dump());
    if (d.is_number_unsigned()) {
      uint64_t u = d.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw fail("dimension is too large").expected("at most 2^63-1").got(shape.dump());
      e.shape.push_back(static_cast<int64_t>(u));
    } else {
      int64_t v = d.get<int64_t>();
      if (v < 0) throw fail("negative dimension").expected("dimensions >= 0").got(shape.dump());
      e.shape.push_back(v);
    }
  }
  uint64_t expected_bytes = 0;
  if (!byte_count(e.shape, element_size, &expected_bytes))
    throw fail("shape has more bytes than fit in 64 bits").got(shape_to_string(e.shape));

  const json& offsets = desc["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw fail("data_offsets is not two non-negative integers").expected("[begin, end]").got(offsets.dump());
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end)
    throw fail("data_offsets begin after they end").expected("begin <= end").got(offsets.dump());
  if (end > data_size)
    throw fail("tensor data extends past the end of the file")
        .expected("end <= " + std::to_string(data_size) + " (bytes in the data section)")
        .got(offsets.dump())
        .hint("the file is probably truncated");
  if (end - begin != expected_bytes)
    throw fail("data size does not match shape and dtype")
        .expected(std::to_string(expected_bytes) + " bytes for " + e.dtype + " " + shape_to_string(e.shape))
        .got(std::to_string(end - begin) + " bytes " + offsets.dump());
  e.data = data_section + begin;
  e.n_bytes = static_cast<size_t>(expected_bytes);
  return e;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  auto it = dtype_sizes().find(dtype);
  if (it == dtype_sizes().end())
    throw Error("unknown safetensors dtype").expected(known_dtypes()).got("\"" + dtype + "\"");
  return it->second;
}

// ---- reader ----

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept { *this = std::move(other); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    entries_ = std::move(other.entries_);
    metadata_ = std::move(other.metadata_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { release(); }

void SafetensorsFile::release() noexcept {
  if (mapping_) ::munmap(mapping_, mapping_size_);
  mapping_ = nullptr;
  mapping_size_ = 0;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

const SafetensorsEntry& SafetensorsFile::at(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    throw Error("no such tensor in safetensors file").file(path_.string()).key(name)
        .hint(std::to_string(entries_.size()) + " tensors in the file");
  return it->second;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string file = path.string();
  SafetensorsFile f;  // owns the mapping from the moment it exists, so every throw below unmaps
  f.path_ = path;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(std::string("cannot open safetensors file: ") + std::strerror(errno)).file(file);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("not a regular file").file(file);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < kLengthBytes) {
    ::close(fd);
    throw Error("file too short for a safetensors header length")
        .file(file).expected("at least 8 bytes").got(std::to_string(file_size) + " bytes");
  }
  void* m = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (m == MAP_FAILED) throw Error(std::string("cannot map file: ") + std::strerror(map_errno)).file(file);
  f.mapping_ = m;
  f.mapping_size_ = file_size;
  const uint8_t* bytes = static_cast<const uint8_t*>(m);

  const uint64_t header_size = read_u64_le(bytes);
  if (header_size > kMaxHeaderBytes)
    throw Error("safetensors header length is absurdly large")
        .file(file).expected("at most " + std::to_string(kMaxHeaderBytes) + " bytes")
        .got(std::to_string(header_size) + " bytes").hint("not a safetensors file, or a corrupt one");
  if (header_size > file_size - kLengthBytes)
    throw Error("safetensors header extends past the end of the file")
        .file(file).expected("header length <= " + std::to_string(file_size - kLengthBytes))
        .got(std::to_string(header_size)).hint("the file is probably truncated");

  const char* header_begin = reinterpret_cast<const char*>(bytes + kLengthBytes);
  const char* header_end = header_begin + header_size;
  // The parser keeps the last of repeated keys; catch repeats at the top level ourselves.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && duplicate.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second) duplicate = k;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(header_begin, header_end, on_event);
  } catch (const json::exception& e) {
    throw Error("safetensors header is not valid JSON").file(file).got(e.what());
  }
  if (!header.is_object())
    throw Error("safetensors header is not a JSON object").file(file).expected("object").got(json_type(header));
  if (!duplicate.empty()) throw Error("tensor name appears twice in the header").file(file).key(duplicate);

  const uint8_t* data_section = bytes + kLengthBytes + header_size;
  const uint64_t data_size = file_size - kLengthBytes - header_size;
  for (const auto& [name, desc] : header.items()) {
    if (name == kMetadataKey) {
      if (!desc.is_object())
        throw Error("__metadata__ is not a JSON object").file(file).key(kMetadataKey).expected("object")
            .got(json_type(desc));
      for (const auto& [k, v] : desc.items()) {
        if (!v.is_string())
          throw Error("metadata value is not a string").file(file).key(std::string(kMetadataKey) + "." + k)
              .expected("string").got(v.dump());
        f.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    f.entries_[name] = parse_entry(file, name, desc, data_section, data_size);
  }

  // Non-empty tensors must not share bytes: sort by begin and compare each with the one before.
  std::vector<const SafetensorsEntry*> by_begin;
  for (const auto& kv : f.entries_)
    if (kv.second.n_bytes > 0) by_begin.push_back(&kv.second);
  std::sort(by_begin.begin(), by_begin.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_begin.size(); ++i) {
    const SafetensorsEntry* prev = by_begin[i - 1];
    const SafetensorsEntry* cur = by_begin[i];
    if (cur->data < prev->data + prev->n_bytes)
      throw Error("tensors overlap in the data section")
          .file(file).key(cur->name)
          .expected("begin >= " + std::to_string(prev->data + prev->n_bytes - data_section) + " (end of '" +
                    prev->name + "')")
          .got("begin " + std::to_string(cur->data - data_section));
  }
  return f;
}

// ---- writer ----

void write_safetensors(const std::filesystem::path& path, const std::vector<SafetensorsTensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string file = path.string();
  std::set<std::string> names;
  for (const SafetensorsTensorRef& t : tensors) {
    if (t.name.empty()) throw Error("tensor name is empty").file(file);
    if (t.name == kMetadataKey)
      throw Error("tensor name is reserved for metadata").file(file).key(t.name);
    if (!names.insert(t.name).second) throw Error("tensor name given twice").file(file).key(t.name);
    auto it = dtype_sizes().find(t.dtype);
    if (it == dtype_sizes().end())
      throw Error("unknown safetensors dtype").file(file).key(t.name).expected(known_dtypes())
          .got("\"" + t.dtype + "\"");
    for (int64_t d : t.shape)
      if (d < 0) throw Error("negative dimension").file(file).key(t.name).got(shape_to_string(t.shape));
    uint64_t expected = 0;
    if (!byte_count(t.shape, it->second, &expected) || expected != t.n_bytes)
      throw Error("tensor byte count does not match shape and dtype")
          .file(file).key(t.name)
          .expected(std::to_string(expected) + " bytes for " + t.dtype + " " + shape_to_string(t.shape))
          .got(std::to_string(t.n_bytes) + " bytes");
    if (t.n_bytes > 0 && t.data == nullptr) throw Error("tensor data is null").file(file).key(t.name);
  }

  // Largest elements first, then by name: with an 8-aligned data section, every tensor is naturally aligned.
  std::vector<const SafetensorsTensorRef*> order;
  for (const SafetensorsTensorRef& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const SafetensorsTensorRef* a, const SafetensorsTensorRef* b) {
    const size_t sa = dtype_sizes().at(a->dtype), sb = dtype_sizes().at(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });

  json header = json::object();
  uint64_t offset = 0;
  for (const SafetensorsTensorRef* t : order) {
    header[t->name] = {{"dtype", t->dtype}, {"shape", t->shape}, {"data_offsets", {offset, offset + t->n_bytes}}};
    offset += t->n_bytes;
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const json::exception& e) {
    throw Error("tensor name or metadata is not valid UTF-8").file(file).got(e.what());
  }
  const size_t unpadded = kLengthBytes + header_text.size();
  header_text.append((kDataAlignment - unpadded % kDataAlignment) % kDataAlignment, ' ');

  char length_bytes[kLengthBytes];
  uint64_t n = header_text.size();
  for (size_t i = 0; i < kLengthBytes; ++i) length_bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);

  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const std::filesystem::path tmp = temp_path_for(path);
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot create file").file(tmp.string());
    out.write(length_bytes, kLengthBytes);
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const SafetensorsTensorRef* t : order)
      out.write(static_cast<const char*>(t->data), static_cast<std::streamsize>(t->n_bytes));
    out.flush();
    if (!out) throw Error("cannot write file (disk full?)").file(tmp.string());
    out.close();
    commit_atomic(tmp, path);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace kd
