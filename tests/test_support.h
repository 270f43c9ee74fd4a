// Helpers every test uses: where the shared fixtures are (KD_SHARED), temporary folders, running the tools.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/util/error.h"

namespace kd::test {

// ../shared from the repo root unless KD_SHARED says otherwise; empty if it does not exist.
inline std::filesystem::path shared_dir() {
  const char* env = std::getenv("KD_SHARED");
  std::filesystem::path p = env && *env ? std::filesystem::path(env)
                                        : std::filesystem::path(KD_SOURCE_DIR) / ".." / "shared";
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) return {};
  return std::filesystem::weakly_canonical(p);
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// A fresh, empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "kd-test") {
    std::string templ = (std::filesystem::temp_directory_path() / (tag + "-XXXXXX")).string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed for " + templ);
    path_ = templ;
  }
  ~TempDir() { std::error_code ec; std::filesystem::remove_all(path_, ec); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

inline std::filesystem::path bin_dir() { return KD_BIN_DIR; }

// The .jpg files directly in `dir`, sorted (e.g. a coco-mini folder).
inline std::vector<std::string> jpegs_in(const std::filesystem::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jpg") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Every JPEG of coco-mini (shared/data/coco-mini): the training images, then val2017 (159 files).
inline std::vector<std::string> coco_mini_jpegs(const std::filesystem::path& shared) {
  std::vector<std::string> files = jpegs_in(shared / "data" / "coco-mini" / "image");
  const std::vector<std::string> val = jpegs_in(shared / "data" / "coco-mini" / "COCO" / "val2017");
  files.insert(files.end(), val.begin(), val.end());
  return files;
}

// The kd::Error thrown by `f`, or fails the test (and returns a placeholder error).
template <class F>
kd::Error error_of(F&& f) {
  try {
    f();
  } catch (const kd::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no kd::Error thrown";
  return kd::Error("none");
}

}  // namespace kd::test

// Sets `var` to the shared fixtures folder, or skips the test (fails it under CI=true) with the reason.
#define KD_REQUIRE_SHARED(var)                                                              \
  const std::filesystem::path var = ::kd::test::shared_dir();                               \
  if (var.empty()) {                                                                        \
    if (::kd::test::running_in_ci()) FAIL() << "shared fixtures not found (KD_SHARED) under CI=true"; \
    GTEST_SKIP() << "shared fixtures not found: set KD_SHARED or put shared/ beside the repo"; \
  }
