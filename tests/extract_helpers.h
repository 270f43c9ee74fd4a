// Helpers for end-to-end tests that run kd's tools: run a command and capture its output, read a cache back.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/util/atomic_file.h"
#include "tests/test_support.h"

namespace kd::test {

struct CommandResult {
  int status = -1;     // exit status, or -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct StreamsResult {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string out, err;
};

// Runs `cmd` with stdout and stderr captured apart (in files under `scratch`).
inline StreamsResult run_command_streams(const std::string& cmd, const std::filesystem::path& scratch) {
  const std::filesystem::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  const std::string full = "(" + cmd + ") > '" + out.string() + "' 2> '" + err.string() + "' < /dev/null";
  StreamsResult r;
  const int st = std::system(full.c_str());
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = kd::read_file(out);
  r.err = kd::read_file(err);
  return r;
}

inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

inline std::string tool(const std::string& name) { return quoted(bin_dir() / name); }

// A test on shared/'s fixtures with the golden tiny teacher: skipped when shared/ is missing, failed under CI=true.
class GoldenTeacherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = shared_dir();
    if (shared_.empty()) {
      if (running_in_ci()) FAIL() << "shared fixtures missing under CI=true";
      GTEST_SKIP() << "shared fixtures not found (KD_SHARED)";
    }
    teacher_ = shared_ / "golden/tiny-clip";
  }
  std::filesystem::path shared_, teacher_;
};

}  // namespace kd::test
