// Cache fixtures shared by the cache, trust and training tests: coco-mini caches extracted once by the golden
// teacher, and a flipped byte inside a dataset's first stored chunk.
#pragma once

#include <gtest/gtest.h>

#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/extract_helpers.h"

namespace kd::test {

// Links shared's coco-mini image/, COCO/ and CC/ into `data` and runs `kd-extract KIND --data-dir data EXTRA` with
// the golden teacher for each (KIND, EXTRA), so the caches land in data/cache/KIND. Returns the output of the
// extractions that failed (empty when all succeeded).
inline std::string extract_coco_mini_caches(const std::filesystem::path& data,
                                            const std::vector<std::pair<std::string, std::string>>& kinds) {
  const std::filesystem::path shared = shared_dir();
  std::filesystem::create_directories(data);
  for (const char* sub : {"image", "COCO", "CC"})
    std::filesystem::create_directory_symlink(shared / "data/coco-mini" / sub, data / sub);
  std::string errors;
  for (const auto& [kind, extra] : kinds) {
    const auto r = run_command(tool("kd-extract") + " " + kind + " --quiet --teacher " +
                               quoted(shared / "golden/tiny-clip") + " --data-dir " + quoted(data) + " " + extra);
    if (r.status != 0) errors += r.output;
  }
  return errors;
}

// XORs one byte in the middle of the first stored chunk of `dataset` in `file` (Fletcher32 must catch it).
inline void flip_chunk_byte(const std::filesystem::path& file, const char* dataset) {
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    unsigned mask = 0;
    std::vector<hsize_t> offset(static_cast<size_t>(std::max(1, H5Sget_simple_extent_ndims(s))), 0);
    const herr_t found = H5Dget_chunk_info(d, s, 0, offset.data(), &mask, &addr, &size);
    H5Sclose(s), H5Dclose(d), H5Fclose(f);
    ASSERT_GE(found, 0) << dataset << " in " << file << " has no stored chunk";
  }
  ASSERT_GT(size, 8u);
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(static_cast<std::streamoff>(addr + size / 2));
  char b = 0;
  io.read(&b, 1);
  b = static_cast<char>(b ^ 0x5a);
  io.seekp(static_cast<std::streamoff>(addr + size / 2));
  io.write(&b, 1);
}

}  // namespace kd::test
