// The README's real recipe as a user runs it: python3's http.server on 127.0.0.1 serves stand-ins of every remote
// layout `make download` fetches (Hugging Face main without model.safetensors, COCO's zips, OpenAI's files; built at
// test time by tests/torch_fixtures.py), and the README's own command lines run against it with tiny presets.
// Also: a 404 and a checksum mismatch stop make with a message naming the URL; both teacher sources give one id.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <chrono>
#include <memory>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/weights_id.h"
#include "common/util/atomic_file.h"
#include "tests/extract_helpers.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using kd::test::quoted;

namespace {

// Serves ROOT on a free port of 127.0.0.1 (port 0, so no race for it) and writes the port to PORT_FILE.
constexpr const char* kServe = R"(
import functools, http.server, os, sys
root, port_file = sys.argv[1], sys.argv[2]
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=root))
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
)";

// python3's http.server over `root`, stopped (SIGTERM, then reaped) when the object dies; `timeout` bounds its life
// even if the test process is killed first.
class LocalHttpServer {
 public:
  LocalHttpServer(const fs::path& root, const fs::path& work) {
    const std::string port_file = (work / "http-port").string(), log = (work / "http.log").string();
    const std::string root_s = root.string();
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl("/usr/bin/timeout", "timeout", "900", "/usr/bin/python3", "-c", kServe, root_s.c_str(),
            port_file.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 600 && pid_ > 0; ++i) {  // up to 30 s for python to start
      if (fs::exists(port_file)) {
        port_ = kd::read_file(port_file);
        return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    log_ = kd::read_file(log);
  }
  ~LocalHttpServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  bool running() const { return !port_.empty(); }
  const std::string& startup_log() const { return log_; }
  std::string url() const { return "http://127.0.0.1:" + port_; }

 private:
  pid_t pid_ = -1;
  std::string port_, log_;
};

// The command lines of the README's "The real recipe" ```sh block, as written.
std::vector<std::string> readme_recipe_lines() {
  std::ifstream in(fs::path(KD_SOURCE_DIR) / "README.md");
  std::vector<std::string> lines;
  bool in_section = false, in_block = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) {
      if (in_section && !lines.empty()) break;
      in_section = line.rfind("## The real recipe", 0) == 0;
      continue;
    }
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      if (in_block) break;
      in_block = line == "```sh";
      continue;
    }
    if (in_block) lines.push_back(line);
  }
  return lines;
}

std::string without_comment(const std::string& line) {
  const size_t hash = line.find(" #");
  std::string s = hash == std::string::npos ? line : line.substr(0, hash);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

class RealRecipe : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = kd::test::shared_dir();
    std::string missing;
    if (shared_.empty()) missing = "shared fixtures (KD_SHARED)";
    for (const char* prog : {"make", "curl", "unzip", "timeout"})
      if (kd::test::run_command(std::string("command -v ") + prog).status != 0) missing = prog;
    if (missing.empty() && kd::test::run_command("/usr/bin/python3 -c 'import torch'").status != 0)
      missing = "/usr/bin/python3 with python3-torch";
    if (!missing.empty()) {
      if (kd::test::running_in_ci()) FAIL() << missing << " missing under CI=true";
      GTEST_SKIP() << missing << " not available";
    }
    for (const char* t : {"kd-extract", "kd-train", "kd-eval", "kd-export"})
      ASSERT_TRUE(fs::exists(kd::test::bin_dir() / t)) << "build the tools first: " << t;
    remote_ = dir_ / "remote";
    const auto made = kd::test::run_command("/usr/bin/python3 " + quoted(fs::path(KD_SOURCE_DIR) / "tests" /
                                            "torch_fixtures.py") + " recipe-remote " + quoted(shared_) + " " +
                                            quoted(remote_));
    ASSERT_EQ(made.status, 0) << made.output;
    server_ = std::make_unique<LocalHttpServer>(remote_, dir_.path());
    ASSERT_TRUE(server_->running()) << "http.server did not start: " << server_->startup_log();
    // Tiny students of the golden tiny CLIP (224 px, patch 32, 64-d embeddings).
    fs::create_directories(dir_ / "presets");
    kd::write_file_atomic(dir_ / "presets/tiny-image.args",
                          "# test: tiny image student\n--dataset image_dataset\n"
                          "--width 32 --layers 1 --heads 1 --patch_size 32 --input_resolution 224 --output_dim 64\n");
    kd::write_file_atomic(dir_ / "presets/tiny-text.args",
                          "# test: tiny text student\n--dataset text_dataset\n"
                          "--transformer_width 32 --transformer_layers 1 --transformer_heads 1 --output_dim 64\n");
  }

  // `line` (a `make -f Makefile.data ...` command) run from the repo root with this test's URLs, folders and tiny
  // presets appended (later command-line variables win in make).
  kd::test::CommandResult make(const std::string& line, const std::string& extra = "") const {
    const std::string u = server_->url();
    const std::string vars =
        " BUILD=" + quoted(kd::test::bin_dir().parent_path()) + " DATA=" + quoted(data()) +
        " RUNS=" + quoted(dir_ / "runs") + " HF_URL=" + u + "/hf COCO_URL=" + u + "/coco" +
        " OPENAI_CLIP_URL=" + u + "/openai/ViT-B-32.pt BPE_URL=" + u + "/openai/bpe_simple_vocab_16e6.txt.gz" +
        " SHA256SUMS=" + quoted(remote_ / "SHA256SUMS") + " PRESET=tiny PRESET_DIR=" + quoted(dir_ / "presets") +
        " EPOCHS=1 BATCH=16 THREADS=1 QUIET=1 GPUS= PRECISION=32 STAGE_LOG=" + quoted(dir_ / "stages.log") + " " +
        extra;
    // MAKEFLAGS from an enclosing make must not leak in; every fetch must be verified against the stand-ins' sums.
    return kd::test::run_command("cd " + quoted(KD_SOURCE_DIR) +
                                 " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL KD_REQUIRE_CHECKSUMS=1 timeout 600 " +
                                 line + vars);
  }

  fs::path data() const { return dir_ / "DATA"; }

  fs::path shared_, remote_;
  kd::test::TempDir dir_{"kd-recipe"};
  std::unique_ptr<LocalHttpServer> server_;
};

std::string stages_in(const fs::path& log) {
  return fs::exists(log) ? kd::read_file(log) : std::string();
}

}  // namespace

TEST_F(RealRecipe, ReadmeCommandsRunDownloadExtractTrainEvalExport) {
  const std::vector<std::string> lines = readme_recipe_lines();
  ASSERT_FALSE(lines.empty()) << "README.md has no ```sh block under '## The real recipe'";
  std::vector<std::string> commands;
  std::string log;
  for (const std::string& raw : lines) {
    if (raw.rfind("#", 0) == 0) {
      // The README's one manual step: Conceptual Captions' TSV, put into DATA/CC/ by hand.
      if (raw.find("Train_GCC-training.tsv") != std::string::npos) {
        fs::create_directories(data() / "CC");
        fs::copy_file(shared_ / "data/coco-mini/CC/Train_GCC-training.tsv", data() / "CC/Train_GCC-training.tsv");
      }
      continue;
    }
    const std::string cmd = without_comment(raw);
    if (cmd.empty()) continue;
    ASSERT_EQ(cmd.rfind("make -f Makefile.data ", 0), 0u) << "the recipe test runs only make lines: " << raw;
    commands.push_back(cmd);
    const auto r = make(cmd);
    log += "$ " + cmd + "\n" + r.output;
    ASSERT_EQ(r.status, 0) << cmd << "\n" << log;
  }
  ASSERT_TRUE(fs::exists(data() / "CC/Train_GCC-training.tsv")) << "the README no longer names the manual CC step";

  // Downloads: HF main's files (no model.safetensors), every one verified; COCO unpacked where the stages look.
  const fs::path teacher = data() / "clip-vit-base-patch32";
  for (const char* f : {"config.json", "pytorch_model.bin", "vocab.json", "merges.txt"})
    EXPECT_TRUE(fs::exists(teacher / f)) << f;
  EXPECT_FALSE(fs::exists(teacher / "model.safetensors"));
  EXPECT_NE(log.find("pytorch_model.bin sha256 verified"), std::string::npos) << log;
  EXPECT_EQ(log.find("UNVERIFIED"), std::string::npos) << log;
  EXPECT_EQ(kd::test::jpegs_in(data() / "COCO/val2017").size(), 79u);
  EXPECT_EQ(kd::test::jpegs_in(data() / "image").size(), 80u);
  EXPECT_TRUE(fs::exists(data() / "COCO/annotations/captions_val2017.json"));

  // Every stage ran and left its artifact.
  const std::string stages = stages_in(dir_ / "stages.log");
  for (const char* s : {"extract-image", "extract-text", "extract-val", "train-image", "train-text", "eval", "export"})
    EXPECT_NE(stages.find(s), std::string::npos) << s << " did not run: " << stages;
  for (const char* f : {"DATA/cache/image/index.json", "DATA/cache/text/index.json", "DATA/cache/val/index.json",
                        "runs/tiny-image/student.safetensors", "runs/tiny-text/student.safetensors",
                        "runs/eval/report.json", "runs/export/config.json"})
    EXPECT_TRUE(fs::exists(dir_ / f)) << f;
  EXPECT_NE(log.find("R@1"), std::string::npos) << "the eval table was not printed:\n" << log;

  // The caches' teacher id is that of the tensors: the golden HF model.safetensors gives the same one.
  const nlohmann::json report = nlohmann::json::parse(kd::read_file(dir_ / "runs/eval/report.json"));
  EXPECT_EQ(report["val_set"]["teacher_id"].get<std::string>(),
            kd::clip_weights_id(kd::load_clip(shared_ / "golden/tiny-clip").model));
  // The export is one HF CLIP folder kd reads back.
  const kd::LoadedClip exported = kd::load_clip(dir_ / "runs/export");
  EXPECT_TRUE(exported.model.config.has_vision && exported.model.config.has_text);

  // The same commands again: nothing is fetched, no stage runs.
  fs::remove(dir_ / "stages.log");
  std::string again;
  for (const std::string& cmd : commands) {
    const auto r = make(cmd);
    again += r.output;
    ASSERT_EQ(r.status, 0) << cmd << "\n" << r.output;
  }
  EXPECT_EQ(again.find("fetch:"), std::string::npos) << again;
  EXPECT_EQ(stages_in(dir_ / "stages.log"), "");
}

TEST_F(RealRecipe, DownloadFailuresStopMakeNamingTheUrl) {
  // A 404: make stops at the first file, the message names its URL, nothing is left behind.
  const std::string missing = server_->url() + "/no-such-repo";
  auto r = make("make -f Makefile.data download-teacher", "HF_URL=" + missing);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("FAILED to download " + missing + "/config.json (HTTP 404"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(data() / "clip-vit-base-patch32/config.json"));
  EXPECT_FALSE(fs::exists(data() / "clip-vit-base-patch32/config.json.part"));

  // A wrong checksum: the download is removed and the message names the URL.
  std::string sums = kd::read_file(remote_ / "SHA256SUMS");
  const size_t at = sums.find("  config.json\n");
  ASSERT_NE(at, std::string::npos) << sums;
  sums.replace(at - 64, 64, std::string(64, '0'));
  kd::write_file_atomic(dir_ / "bad-SHA256SUMS", sums);
  r = make("make -f Makefile.data download-teacher", "SHA256SUMS=" + quoted(dir_ / "bad-SHA256SUMS"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("checksum MISMATCH for " + server_->url() + "/hf/config.json"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(data() / "clip-vit-base-patch32/config.json"));
  EXPECT_FALSE(fs::exists(data() / "clip-vit-base-patch32/config.json.part"));

  // The committed sums hold OpenAI's real ViT-B-32.pt hash: the stand-in is refused, naming the URL.
  r = make("make -f Makefile.data download-teacher TEACHER_SOURCE=openai",
           "SHA256SUMS=" + quoted(fs::path(KD_SOURCE_DIR) / "pipelines/checksums/SHA256SUMS"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("checksum MISMATCH for " + server_->url() + "/openai/ViT-B-32.pt: expected "
                          "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(data() / "ViT-B-32.pt"));

  // With the stand-ins' sums both sources download, and their weights have one teacher id.
  r = make("make -f Makefile.data download-teacher");
  ASSERT_EQ(r.status, 0) << r.output;
  r = make("make -f Makefile.data download-teacher TEACHER_SOURCE=openai");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(kd::clip_weights_id(kd::load_clip(data() / "ViT-B-32.pt").model),
            kd::clip_weights_id(kd::load_clip(data() / "clip-vit-base-patch32").model));
}
