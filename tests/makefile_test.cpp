// Drives `make -f Makefile.data demo` on a tiny configuration and checks which stages ran (STAGE_LOG): everything the
// first time, nothing the second, the extracts and everything after them when the teacher is touched, and only one
// student (and the eval) when that student's preset changes. Doubles as CI's demo smoke test (the table must print).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/clip/clip_checkpoint.h"
#include "common/util/atomic_file.h"
#include "tests/demo_handoff.h"
#include "tests/python_checks.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

struct MakeRun {
  int status = -1;
  std::string output;
  std::vector<std::string> stages;  // the STAGE_LOG lines of this run, in order
};

class TinyDemo {
 public:
  explicit TinyDemo(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir / "presets");
    for (const char* p : {"demo-image.args", "demo-text.args"})
      fs::copy_file(fs::path(KD_SOURCE_DIR) / "pipelines" / "presets" / p, dir / "presets" / p);
  }

  MakeRun run(const std::string& goal = "demo") const {
    const fs::path log = dir_ / "stages.log", out = dir_ / "make-output.txt";
    std::error_code ec;
    fs::remove(log, ec);
    const std::string build = fs::path(KD_BIN_DIR).parent_path().string();
    // MAKEFLAGS/MFLAGS from an enclosing make (ctest run by `make test`) must not leak in.
    const std::string cmd = "cd '" + std::string(KD_SOURCE_DIR) + "' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL " +
                            "make -f Makefile.data " + goal + " BUILD='" + build + "' DEMO='" +
                            (dir_ / "demo-out").string() + "' PRESET_DIR='" + (dir_ / "presets").string() +
                            "' STAGE_LOG='" + log.string() +
                            "' DEMO_TRAIN=64 DEMO_PRETRAIN=32 DEMO_VAL=16 DEMO_EPOCHS=1 DEMO_BATCH=16 DEMO_MIN_CHANCE=0" +
                            " DEMO_TEACHER_OPTS='--epochs 2 --batch-size 16' THREADS=1 QUIET=1 > '" +
                            out.string() + "' 2>&1";
    MakeRun r;
    const int raw = std::system(cmd.c_str());
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.output = kd::read_file(out);
    if (fs::exists(log)) {
      std::ifstream in(log);
      for (std::string line; std::getline(in, line);) r.stages.push_back(line);
    }
    std::sort(r.stages.begin(), r.stages.end());
    return r;
  }

  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(MakefileData, StagesRunOnceAndRebuildOnlyWhatChanged) {
  if (std::system("command -v make > /dev/null 2>&1") != 0) GTEST_SKIP() << "make is not installed";
  for (const char* tool : {"kd-demo-data", "kd-demo-teacher", "kd-extract", "kd-train", "kd-eval"}) {
    ASSERT_TRUE(fs::exists(fs::path(KD_BIN_DIR) / tool)) << "build the tools first: " << tool;
  }
  kd::test::TempDir tmp("kd-make");
  TinyDemo demo(tmp.path());

  // 1. Fresh: every stage runs once, the table and the teacher line print.
  const MakeRun first = demo.run();
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_EQ(first.stages, sorted({"demo-data", "demo-teacher", "extract-image", "extract-text", "extract-val",
                                  "train-image", "train-text", "eval"}))
      << joined(first.stages);
  EXPECT_NE(first.output.find("R@1"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("teacher R@1 = "), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("x chance"), std::string::npos) << first.output;
  const fs::path out = tmp.path() / "demo-out";
  for (const char* f : {"data/cache/image/index.json", "data/cache/text/index.json", "data/cache/val/index.json",
                        "runs/demo-image/student.safetensors", "runs/demo-text/student.safetensors",
                        "runs/eval/report.json", "teacher/model.safetensors"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }

  // 2. Again: nothing runs.
  const MakeRun second = demo.run();
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_TRUE(second.stages.empty()) << "a second make ran: " << joined(second.stages);

  // 2b. `demo-export` (the export target on the demo's folders) writes HF and TorchScript students without a
  //     --tokenizer: the text run carries its cache's tokenizer. Python's torch reloads the TorchScript students
  //     to kd's embeddings; the runs' TensorBoard files decode to metrics.jsonl's scalars. Then nothing reruns.
  for (const char* tool : {"kd-export"}) ASSERT_TRUE(fs::exists(fs::path(KD_BIN_DIR) / tool)) << tool;
  const MakeRun exported = demo.run("demo-export");
  ASSERT_EQ(exported.status, 0) << exported.output;
  EXPECT_EQ(exported.stages, sorted({"export", "export-torchscript"})) << joined(exported.stages);
  for (const char* f : {"runs/export/config.json", "runs/export/vocab.json", "runs/export/merges.txt",
                        "runs/export-torchscript/image_encoder.pt", "runs/export-torchscript/text_encoder.ptl",
                        "runs/export-torchscript/vocab.json", "runs/demo-text/tokenizer/merges.txt",
                        "runs/demo-image/curves.svg", "runs/demo-text/curves.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_TRUE(demo.run("demo-export").stages.empty());
  if (kd::test::python_torch_available()) {
    kd::test::check_demo_handoff(out, tmp.path());
  } else if (kd::test::running_in_ci()) {
    ADD_FAILURE() << "python3-torch missing under CI=true";
  }

  // 3. The teacher is touched: the caches are re-extracted, so both students and the eval are redone; data and
  //    teacher are not.
  const fs::path weights = out / "teacher" / "model.safetensors";
  fs::last_write_time(weights, fs::file_time_type::clock::now());  // `touch`: newer than every cache
  const MakeRun touched = demo.run();
  ASSERT_EQ(touched.status, 0) << touched.output;
  EXPECT_EQ(touched.stages, sorted({"extract-image", "extract-text", "extract-val", "train-image", "train-text",
                                    "eval"}))
      << joined(touched.stages);

  // 4. The text student's preset changes: only that student and the eval.
  {
    std::ofstream preset(tmp.path() / "presets" / "demo-text.args", std::ios::trunc);
    preset << "# test: a 1-layer text student\n--dataset text_dataset\n"
              "--transformer_width 32 --transformer_layers 1 --transformer_heads 2 --output_dim 128\n";
  }
  const MakeRun preset = demo.run();
  ASSERT_EQ(preset.status, 0) << preset.output;
  EXPECT_EQ(preset.stages, sorted({"train-text", "eval"})) << joined(preset.stages);

  // 5. An option of one stage changes (the eval's K list): only that stage; then nothing again.
  const MakeRun evalopt = demo.run("demo EVAL_OPTS='--ks 1,5'");
  ASSERT_EQ(evalopt.status, 0) << evalopt.output;
  EXPECT_EQ(evalopt.stages, sorted({"eval"})) << joined(evalopt.stages);
  const MakeRun again = demo.run("demo EVAL_OPTS='--ks 1,5'");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_TRUE(again.stages.empty()) << joined(again.stages);

  // 6. The recipe: the default (kd-cos) reached both students' config.json; RECIPE=kd-seed retrains both students
  //    and the eval, not the caches; an unknown recipe stops make before any stage, naming the file.
  const auto losses = [&](const char* run) {
    return nlohmann::json::parse(kd::read_file(out / "runs" / run / "config.json")).at("loss").dump();
  };
  EXPECT_EQ(losses("demo-image"), R"(["cos"])");
  EXPECT_EQ(losses("demo-text"), R"(["cos"])");
  const MakeRun seed_recipe = demo.run("demo EVAL_OPTS='--ks 1,5' RECIPE=kd-seed");
  ASSERT_EQ(seed_recipe.status, 0) << seed_recipe.output;
  EXPECT_EQ(seed_recipe.stages, sorted({"train-image", "train-text", "eval"})) << joined(seed_recipe.stages);
  EXPECT_EQ(losses("demo-image"), R"(["kl","l1","ce"])");
  const MakeRun unknown = demo.run("demo RECIPE=kd-nonesuch");
  EXPECT_NE(unknown.status, 0);
  EXPECT_TRUE(unknown.stages.empty()) << joined(unknown.stages);
  EXPECT_NE(unknown.output.find("pipelines/presets/kd-nonesuch.args"), std::string::npos) << unknown.output;
}
