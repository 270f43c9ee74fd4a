// check_global_heaps: a walk of each HDF5 global heap collection, the same walk libhdf5 makes, with bounds checked.
#include "common/cache/global_heap_check.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/util/error.h"

namespace kd::cache {
namespace {

// HDF5 file format, "Global Heap": signature, version 1, 3 reserved bytes, collection size (8 bytes); then objects:
// index (2), reference count (2), reserved (4), size (8), data padded to 8 bytes. Index 0 is the free space, whose
// size covers its own header; a tail shorter than an object header is free space too.
constexpr char kSignature[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
constexpr uint64_t kCollectionHeader = 16, kObjectHeader = 16, kMinCollection = 4096;

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Empty if the collection at `at` is sound, else why not.
std::string walk_collection(const uint8_t* data, uint64_t file_size, uint64_t at) {
  if (file_size - at < kCollectionHeader) return "collection header runs past the end of the file";
  const uint64_t size = le(data + at + 8, 8);
  if (size < kMinCollection || size > file_size - at)
    return "collection size " + std::to_string(size) + " outside [4096, " + std::to_string(file_size - at) + "]";
  const uint8_t* p = data + at + kCollectionHeader;
  const uint8_t* end = data + at + size;
  std::vector<bool> seen;
  size_t n_objects = 0;
  while (p < end) {
    if (static_cast<uint64_t>(end - p) < kObjectHeader) break;  // free space without a header
    const uint64_t index = le(p, 2), object = le(p + 8, 8);
    uint64_t need = 0;
    if (index == 0) {
      need = object;
      if (need < kObjectHeader) return "free space of " + std::to_string(object) + " bytes";
    } else {
      if (object > size) return "object " + std::to_string(index) + " of " + std::to_string(object) + " bytes";
      need = kObjectHeader + (object + 7) / 8 * 8;
      if (seen.size() <= index) seen.resize(index + 1, false);
      if (seen[index]) return "object index " + std::to_string(index) + " twice";
      seen[index] = true;
      ++n_objects;
    }
    if (need > static_cast<uint64_t>(end - p))
      return "object " + std::to_string(index) + " runs past the collection's end";
    p += need;
  }
  // Objects are numbered from 1 as they are inserted (kd never frees one): a gap is a changed index.
  if (n_objects + 1 != std::max<size_t>(seen.size(), 1)) return "object indices are not 1.." + std::to_string(n_objects);
  return {};
}

}  // namespace

void check_global_heaps(const std::filesystem::path& file) {
  const std::string name = file.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(std::string("cannot open file: ") + std::strerror(errno)).file(name);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(std::string("cannot stat file: ") + std::strerror(err)).file(name);
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < sizeof(kSignature)) {
    ::close(fd);
    return;
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw Error(std::string("cannot map file: ") + std::strerror(errno)).file(name);
  const auto* data = static_cast<const uint8_t*>(map);
  std::string why;
  uint64_t at = 0;
  for (const uint8_t* p = data; why.empty();) {
    const void* hit = ::memmem(p, size - static_cast<uint64_t>(p - data), kSignature, sizeof(kSignature));
    if (!hit) break;
    at = static_cast<uint64_t>(static_cast<const uint8_t*>(hit) - data);
    why = walk_collection(data, size, at);
    p = static_cast<const uint8_t*>(hit) + 1;
  }
  ::munmap(map, size);
  if (!why.empty())
    throw Error("HDF5 global heap is corrupt (where variable-length strings live): " + why).file(name)
        .key("global heap collection at byte " + std::to_string(at))
        .hint("the file is damaged: re-extract it (rerun kd-extract on the cache folder)");
}

}  // namespace kd::cache
