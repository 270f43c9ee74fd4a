// Atomic files and SHA-256.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/sha256.h"
#include "common/util/splitmix64.h"
#include "tests/test_support.h"

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(kd::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(kd::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AtomicFile, WritesAndLeavesNoTemp) {
  kd::test::TempDir dir;
  auto p = dir / "sub/out.txt";
  kd::write_file_atomic(p, "hello");
  EXPECT_EQ(kd::read_file(p), "hello");
  EXPECT_FALSE(std::filesystem::exists(kd::temp_path_for(p)));
  EXPECT_EQ(kd::sha256_file_hex(p), kd::sha256_hex("hello"));
}

// A full disk (here: a file-size limit, so write() fails with EFBIG) while index.json, skipped.tsv or a config is
// written: a kd::Error naming the temporary file, and neither it nor the final file is left behind (issue 14).
TEST(AtomicFile, FailedWriteLeavesNoTemp) {
  kd::test::TempDir dir;
  const auto p = dir / "index.json";
  struct rlimit before {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit tiny = before;
  tiny.rlim_cur = 4096;  // bytes
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  std::string message;
  try {
    kd::write_file_atomic(p, std::string(1 << 20, 'x'));
  } catch (const kd::Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find("index.json.tmp"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(kd::temp_path_for(p)));
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST(AtomicFile, MissingFileNamesIt) {
  try {
    kd::read_file("/nonexistent/kd-file");
    FAIL() << "no error";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kd-file"), std::string::npos);
  }
}

TEST(SplitMix64, MatchesTheReferenceSequence) {
  // Vigna's splitmix64.c seeded with 1234567: 6457827717110365317, 3203168211198807973, 9817491932198370423.
  uint64_t state = 1234567;
  EXPECT_EQ(kd::splitmix64_next(state), 6457827717110365317ull);
  EXPECT_EQ(kd::splitmix64_next(state), 3203168211198807973ull);
  EXPECT_EQ(kd::splitmix64_next(state), 9817491932198370423ull);
  EXPECT_EQ(kd::unit_interval(~0ull), 1.0 - 1.0 / 9007199254740992.0);
}

TEST(Sha256, IncrementalEqualsOneShot) {
  kd::Sha256 h;
  h.update("a");
  h.update(std::string_view("bc"));
  EXPECT_EQ(h.hex(), kd::sha256_hex("abc"));
}
