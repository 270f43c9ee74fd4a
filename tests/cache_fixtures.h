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

// A test suite over coco-mini caches extracted once for all its tests (Suite::caches(): the (KIND, EXTRA) list for
// extract_coco_mini_caches, Suite::kTempName: the scratch folder's prefix). Tests skip without shared/, and fail
// under CI=true; a failed extraction fails every test with its output.
template <class Suite>
class CocoMiniCachesSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (shared_dir().empty()) return;
    dir_ = new TempDir(Suite::kTempName);
    data_ = dir_->path() / "DATA";
    setup_error_ = extract_coco_mini_caches(data_, Suite::caches());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (shared_dir().empty()) {
      if (running_in_ci()) FAIL() << "shared fixtures missing under CI=true";
      GTEST_SKIP() << "shared fixtures not found (KD_SHARED)";
    }
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::filesystem::path data_;  // DATA: image/, COCO/, CC/ linked from shared; cache/<kind>
  static inline std::string setup_error_;
};

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
