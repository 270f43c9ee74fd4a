// A full disk while kd writes (issue 14): the tool says which file could not be written and exits 1 — no signal,
// no *.tmp left behind. The fault is injected with `ulimit -f` (SIGXFSZ ignored, so write() fails with EFBIG).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/extract_helpers.h"

namespace {

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;
using kd::test::tool;

// Runs `command` under bash with files limited to `kib` KiB (bash counts ulimit -f in KiB, dash in 512-byte blocks):
// writes past the limit fail with EFBIG instead of killing the process.
kd::test::CommandResult run_with_file_limit(int kib, const std::string& command) {
  return run_command("bash -c 'trap \"\" XFSZ; ulimit -f " + std::to_string(kib) + " && exec \"$@\"' limit " + command);
}

// Temporary files (*.tmp, *.tmp/) and empty files left anywhere under `dir`.
std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const bool tmp = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
    if (tmp || (e.is_regular_file() && fs::file_size(e.path()) == 0)) out.push_back(e.path().string());
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

class DiskFull : public kd::test::GoldenTeacherTest {
 protected:
  // The failed write is a shard's: the message names it and HDF5's reason; rc 139 (SIGSEGV inside HDF5 at exit)
  // before kd turned HDF5's exit-time clean-up off (common/cache/h5_exit.h).
  void expect_failed_shard(const kd::test::CommandResult& r, const fs::path& out) {
    EXPECT_EQ(r.status, 1) << "139 = SIGSEGV (sh reports 128 + signal)\n" << r.output;
    EXPECT_NE(r.output.find("shard-00000.h5.tmp"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("time ="), std::string::npos) << "HDF5's raw two-line message:\n" << r.output;
    EXPECT_FALSE(fs::exists(out / "index.json")) << "an index for a cache that was not written";
    EXPECT_EQ(joined(leftovers(out)), "");
  }
  kd::test::TempDir dir_{"kd-disk-full"};
};

TEST_F(DiskFull, ExtractTextShardWriteFailsWithTheFileNamed) {
  // 3000 captions make a shard of ~1.3 MB; the copied tokenizer's largest file (vocab.json, 842 KiB) still fits.
  std::vector<std::string> captions;
  {
    std::ifstream in(teacher_ / "captions.txt");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) captions.push_back(line);
  }
  ASSERT_FALSE(captions.empty());
  std::ofstream lines(dir_ / "captions.txt");
  for (int i = 0; i < 3000; ++i) lines << captions[i % captions.size()] << " number " << i << "\n";
  lines.close();
  const fs::path out = dir_ / "text";
  const auto r = run_with_file_limit(900, tool("kd-extract") + " text --quiet --dtype fp32 --format lines --teacher " +
                                              quoted(teacher_) + " --captions " + quoted(dir_ / "captions.txt") +
                                              " --out " + quoted(out));
  expect_failed_shard(r, out);
}

TEST_F(DiskFull, ExtractImageShardWriteFailsWithTheFileNamed) {
  const fs::path out = dir_ / "image";
  const auto r = run_with_file_limit(16, tool("kd-extract") + " image --quiet --teacher " + quoted(teacher_) +
                                             " --images " + quoted(shared_ / "data/coco-mini/image") + " --out " +
                                             quoted(out));
  expect_failed_shard(r, out);
}

// kd-train writes its checkpoint (tens of MB) through an atomic file: the same fault ends with exit 1 and no .tmp.
TEST_F(DiskFull, TrainCheckpointWriteFailsWithTheFileNamed) {
  const fs::path cache = dir_ / "data/cache/text";
  auto r = run_command(tool("kd-extract") + " text --quiet --dtype fp32 --format lines --teacher " +
                       quoted(teacher_) + " --captions " + quoted(teacher_ / "captions.txt") + " --out " +
                       quoted(cache));
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path runs = dir_ / "runs";
  r = run_with_file_limit(2000, tool("kd-train") + " --quiet --data_dir " + quoted(dir_ / "data") +
                                    " --dataset text_dataset --model_name full --save_dir " + quoted(runs) +
                                    " --transformer_width 64 --transformer_layers 2 --transformer_heads 2"
                                    " --output_dim 64 --batch_size 32 --threads 1 --max_epochs 1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(".ckpt.tmp"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("disk full"), std::string::npos) << r.output;
  EXPECT_EQ(joined(leftovers(runs)), "");
}

}  // namespace
