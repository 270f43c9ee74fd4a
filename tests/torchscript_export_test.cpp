// kd-export --layout torchscript: archives (and their lite-interpreter form) that Debian's python3-torch loads and
// runs to kd's embeddings (<= 1e-5 relative) with the preprocessing recorded, on tiny students and on the golden tiny
// CLIP; and how kd-export finds a text student's tokenizer (recorded in the run, its cache, --teacher, --tokenizer).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/tokenizer_files.h"
#include "common/export/student_export.h"
#include "common/export/torchscript_export.h"
#include "common/util/atomic_file.h"
#include "tests/python_checks.h"

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;

namespace {

kd::ClipModel tiny(bool vision, uint64_t seed) {
  kd::ClipConfig c = vision ? kd::seed_image_student_config() : kd::seed_text_student_config();
  if (vision) c.vision = {64, 2, 2, 256, 16, 64};  // width, layers, heads, mlp, patch, image size
  else c.text = {32, 2, 2, 128, 77, 49408};
  c.embed_dim = 48;
  kd::ClipModel m = kd::ClipModel::create(c, seed);
  m.eval();
  return m;
}

std::string last_line(const std::string& s) {
  const size_t end = s.find_last_not_of('\n');
  const size_t start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1, end == std::string::npos ? 0 : end + 1 - (start + 1));
}

}  // namespace

TEST(TorchScriptExport, TinyStudentsReloadInLibTorchAndPythonWithTheirPreprocessing) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir tmp("kd-ts");
  kd::ClipModel image = tiny(true, 1), text = tiny(false, 2);
  kd::save_clip_openai_safetensors(image, tmp / "image.safetensors");
  kd::save_clip_openai_safetensors(text, tmp / "text.safetensors");
  kd::ExportOptions o;
  o.image_student = tmp / "image.safetensors";
  o.text_student = tmp / "text.safetensors";
  o.tokenizer = shared / "clip" / "bpe_simple_vocab_16e6.txt.gz";
  o.layout = kd::ExportLayout::kTorchScript;
  o.logit_scale = 50;
  o.out = tmp / "ts";
  const kd::ExportResult r = kd::export_students(o);  // checks both files with LibTorch itself
  for (const char* f : {"image_encoder.pt", "image_encoder.ptl", "text_encoder.pt", "text_encoder.ptl", "vocab.json",
                        "merges.txt", "kd-torchscript.json"})
    EXPECT_TRUE(fs::exists(o.out / f)) << f;
  EXPECT_FALSE(fs::exists(tmp / "ts.tmp"));
  const auto manifest = nlohmann::json::parse(kd::read_file(o.out / "kd-torchscript.json"));
  EXPECT_EQ(manifest["kd_format"], "kd-torchscript-export");
  EXPECT_NEAR(manifest["logit_scale"].get<double>(), 50, 1e-3);
  const auto& pre = manifest["towers"]["image"]["preprocess"];
  EXPECT_EQ(pre["resolution"], 64);
  EXPECT_EQ(pre["mean"], nlohmann::json({0.48145466, 0.4578275, 0.40821073}));
  EXPECT_EQ(pre["std"], nlohmann::json({0.26862954, 0.26130258, 0.27577711}));
  EXPECT_EQ(pre["kd_resize_mode"], "exact");  // no run folder to say otherwise
  EXPECT_EQ(manifest["towers"]["text"]["preprocess"]["context_length"], 77);
  EXPECT_THROW(kd::export_students(o), kd::Error);  // exists: not overwritten

  KD_REQUIRE_PYTHON_TORCH();
  const auto py = kd::test::python_check_torchscript(o.out, &image, &text, tmp.path());
  EXPECT_EQ(py.status, 0) << py.output;
  const auto report = nlohmann::json::parse(last_line(py.output));
  std::cout << "[torchscript] python " << report["torch"] << ": image forward/lite rel diff "
            << report["towers"][0]["forward"] << "/" << report["towers"][0]["lite"] << ", text "
            << report["towers"][1]["forward"] << "/" << report["towers"][1]["lite"] << "\n";
  EXPECT_EQ(report["towers"][0]["attributes"]["image_size"], 64);
  EXPECT_EQ(report["towers"][1]["attributes"]["eot_token"], 49407);
}

TEST(TorchScriptExport, GoldenTinyClipThroughTheBinaryMatchesKd) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir tmp("kd-ts-golden");
  const fs::path golden = shared / "golden" / "tiny-clip";
  // The HF folder holds vocab.json + merges.txt: no --tokenizer needed.
  const auto r = run_command(kd::test::tool("kd-export") + " --image " + quoted(golden) + " --text " + quoted(golden) +
                             " --teacher " + quoted(golden) + " --layout torchscript --out " + quoted(tmp / "ts"));
  ASSERT_EQ(r.status, 0) << r.output;
  KD_REQUIRE_PYTHON_TORCH();
  kd::ClipModel m = kd::load_clip(golden).model;
  m.eval();
  const auto py = kd::test::python_check_torchscript(tmp / "ts", &m, &m, tmp.path());
  EXPECT_EQ(py.status, 0) << py.output;
  std::cout << "[torchscript] golden tiny CLIP: " << last_line(py.output).substr(0, 400) << "\n";
}

TEST(ExportTokenizer, FoundInTheRunItsCacheOrTheTeacherAndOverriddenByTokenizer) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir tmp("kd-export-tok");
  const fs::path golden = shared / "golden" / "tiny-clip";
  const kd::BpeTokenizer bpe = kd::BpeTokenizer::load(golden);
  kd::ClipModel text = tiny(false, 4);
  const fs::path run = tmp / "runs" / "text-run", cache = tmp / "cache" / "text";
  fs::create_directories(run);
  kd::save_clip_openai_safetensors(text, run / "student.safetensors");
  kd::ExportOptions o;
  o.text_student = run;
  o.out = tmp / "none";
  // Nothing recorded, no --teacher: the error says where it looked and what to pass.
  const kd::Error e = kd::test::error_of([&] { kd::export_students(o); });
  EXPECT_NE(std::string(e.what()).find("tokenizer"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("--tokenizer"), std::string::npos) << e.what();

  // 1. The cache named by RUN/config.json has tokenizer/ (what kd-extract writes).
  kd::write_hf_tokenizer_files(bpe, cache / kd::kTokenizerFolder, 77);
  kd::write_file_atomic(run / "config.json", nlohmann::json{{"cache", cache.string()}}.dump());
  EXPECT_EQ(kd::find_recorded_tokenizer(run), cache / "tokenizer");
  EXPECT_EQ(kd::find_recorded_tokenizer(run / "student.safetensors"), cache / "tokenizer");
  o.out = tmp / "from-cache";
  kd::export_students(o);
  EXPECT_EQ(kd::read_file(o.out / "merges.txt"), kd::read_file(cache / "tokenizer" / "merges.txt"));

  // 2. RUN/tokenizer/ (what kd-train copies) comes first; copy_cache_tokenizer makes it.
  EXPECT_TRUE(kd::copy_cache_tokenizer(cache, run));
  EXPECT_EQ(kd::find_recorded_tokenizer(run), run / "tokenizer");
  fs::remove_all(cache / "tokenizer");
  o.out = tmp / "from-run";
  kd::export_students(o);
  EXPECT_EQ(nlohmann::json::parse(kd::read_file(o.out / "vocab.json")),
            nlohmann::json::parse(kd::read_file(golden / "vocab.json")));

  // 3. An explicit --tokenizer wins over a recorded one (here a broken one, which would fail to load).
  kd::write_file_atomic(run / "tokenizer" / "vocab.json", "{}");
  o.out = tmp / "broken";
  EXPECT_THROW(kd::export_students(o), kd::Error);
  o.tokenizer = shared / "clip" / "bpe_simple_vocab_16e6.txt.gz";
  o.out = tmp / "override";
  kd::export_students(o);
  EXPECT_TRUE(fs::exists(o.out / "merges.txt"));

  // 4. --teacher supplies it when the run recorded none (its folder's vocab.json + merges.txt).
  fs::remove_all(run / "tokenizer");
  o.tokenizer.clear();
  o.teacher = golden;
  o.out = tmp / "from-teacher";
  kd::export_students(o);
  EXPECT_EQ(kd::read_file(o.out / "merges.txt"), kd::read_file(tmp / "override" / "merges.txt"));
  // The TorchScript layout finds it the same way and ships the files beside text_encoder.pt.
  o.layout = kd::ExportLayout::kTorchScript;
  o.out = tmp / "ts-from-teacher";
  kd::export_students(o);
  EXPECT_TRUE(fs::exists(o.out / "vocab.json"));
  EXPECT_TRUE(fs::exists(o.out / "text_encoder.ptl"));
}
