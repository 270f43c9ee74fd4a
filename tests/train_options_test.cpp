// Options as data: TrainOptions' one description round-trips through RUN/config.json, reads the spellings of
// earlier runs back, refuses bad values naming the option; enums accept every spelling; the seed's run names.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/distill/distill_loss.h"
#include "common/distill/train_options.h"
#include "common/image/renderer.h"
#include "common/util/error.h"
#include "common/util/precision.h"
#include "tests/extract_helpers.h"
#include "tests/test_support.h"

namespace {

std::string error_of(const kd::TrainOptions& o) {
  try {
    kd::validate_train_options(o);
  } catch (const kd::Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainOptions, JsonRoundTripKeepsEveryField) {
  kd::TrainOptions o;
  o.dataset = kd::Dataset::kText;
  o.model_name = "run";
  o.precision = kd::Precision::kBf16;
  o.strategy = kd::Strategy::kDdp;
  o.lr_scheduler = kd::LrSchedule::kCosine;
  o.loss = {"l1", "icl"};
  o.weight = {0.5, 0.25};
  o.loss_scale = {2, 3};
  o.gpus = {"0", "1"};
  o.cache = "/c";
  o.seed = 7;
  o.save_top_k = 1;
  o.quiet = true;  // not saved
  o.resume = "/r";  // not saved
  const nlohmann::json j = kd::train_options_to_json(o);
  EXPECT_EQ(j.at("precision"), "bf16");
  EXPECT_EQ(j.at("dataset"), "text_dataset");
  EXPECT_FALSE(j.contains("quiet"));
  EXPECT_FALSE(j.contains("resume"));
  EXPECT_FALSE(j.contains("device"));
  const kd::TrainOptions back = kd::train_options_from_json(j, "config.json");
  EXPECT_EQ(kd::train_options_to_json(back), j);
  EXPECT_EQ(back.precision, kd::Precision::kBf16);
  EXPECT_EQ(back.loss_scale, (std::vector<double>{2, 3}));
  EXPECT_FALSE(back.quiet);
  EXPECT_TRUE(back.resume.empty());
}

// A config.json as the previous kd-train wrote it ("32"/"16", scales [1, 1, 1], an unused "device") still reads,
// so --resume of existing runs works.
TEST(TrainOptions, ReadsConfigsOfEarlierRuns) {
  nlohmann::json j = kd::train_options_to_json(kd::TrainOptions{});
  j["precision"] = "16";
  j["loss_scale"] = {1, 1, 1};
  j["device"] = "cpu";
  j["strategy"] = "none";
  j["model_name"] = "model_distilled";
  const kd::TrainOptions o = kd::train_options_from_json(j, "old/config.json");
  EXPECT_EQ(o.precision, kd::Precision::kFp16);
  EXPECT_EQ(o.strategy, kd::Strategy::kAuto);
  EXPECT_EQ(o.loss_scale, (std::vector<double>{1, 1, 1}));
  j["precision"] = "32";
  EXPECT_EQ(kd::train_options_from_json(j, "old/config.json").precision, kd::Precision::kFp32);
  // A key that is neither an option nor retired is refused, naming it.
  j["no_such_option"] = 1;
  try {
    kd::train_options_from_json(j, "old/config.json");
    FAIL() << "unknown key accepted";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_option"), std::string::npos) << e.what();
  }
  j.erase("no_such_option");
  j["precision"] = "fp64";
  try {
    kd::train_options_from_json(j, "old/config.json");
    FAIL() << "bad precision accepted";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("precision"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("old/config.json"), std::string::npos) << e.what();
  }
}

TEST(TrainOptions, NegativeValuesAreRefusedNamingTheOption) {
  EXPECT_EQ(error_of(kd::TrainOptions{}), "");
  struct Case {
    const char* option;
    void (*set)(kd::TrainOptions&);
  };
  const Case cases[] = {
      {"--threads", [](kd::TrainOptions& o) { o.threads = -1; }},
      {"--max_steps", [](kd::TrainOptions& o) { o.max_steps = -5; }},
      {"--checkpoint-every-steps", [](kd::TrainOptions& o) { o.checkpoint_every_steps = -1; }},
      {"--save-top-k", [](kd::TrainOptions& o) { o.save_top_k = -2; }},
      {"--val-every-steps", [](kd::TrainOptions& o) { o.val_every_steps = -1; }},
      {"--num_workers", [](kd::TrainOptions& o) { o.num_workers = -1; }},
      {"--weight", [](kd::TrainOptions& o) { o.weight = {0.6, -0.35, 0.05}; }},
      {"--loss_scale", [](kd::TrainOptions& o) { o.loss_scale = {1, 1, -1}; }},
  };
  for (const Case& c : cases) {
    kd::TrainOptions o;
    c.set(o);
    const std::string e = error_of(o);
    EXPECT_NE(e.find(c.option), std::string::npos) << c.option << ": " << e;
  }
  // Zero stays allowed where it means "off" or "no limit".
  kd::TrainOptions zero;
  zero.threads = zero.max_steps = zero.checkpoint_every_steps = zero.save_top_k = 0;
  zero.weight = {0, 0.35, 0.05};
  EXPECT_EQ(error_of(zero), "");
}

TEST(TrainOptions, SeedRunNamesFollowTheDataset) {
  kd::test::TempDir dir("kd-train-options");
  for (const char* kind : {"image", "text"}) {
    std::filesystem::create_directories(dir / ("cache/" + std::string(kind)));
    std::ofstream(dir / ("cache/" + std::string(kind) + "/index.json")) << "{}";
  }
  kd::TrainOptions o;
  o.data_dir = dir.path();
  EXPECT_EQ(kd::resolve_train_options(o).model_name, "model_image_distilled");
  o.dataset = kd::Dataset::kText;
  o.transformer_width = 128;
  EXPECT_EQ(kd::resolve_train_options(o).model_name, "model_text_distilled");
  o.model_name = "mine";
  EXPECT_EQ(kd::resolve_train_options(o).model_name, "mine");
}

TEST(OptionEnums, EverySpellingParsesOnce) {
  using kd::Precision;
  for (const char* s : {"fp32", "32", "32-true"}) EXPECT_EQ(kd::parse_enum<Precision>(s, "--precision"), Precision::kFp32);
  for (const char* s : {"fp16", "16", "16-mixed"}) EXPECT_EQ(kd::parse_enum<Precision>(s, "--precision"), Precision::kFp16);
  for (const char* s : {"bf16", "bf16-mixed"}) EXPECT_EQ(kd::parse_enum<Precision>(s, "--precision"), Precision::kBf16);
  EXPECT_EQ(kd::enum_name(Precision::kFp16), "fp16");
  EXPECT_EQ(kd::parse_enum<kd::ResizeMode>("fast", "--resize"), kd::ResizeMode::kFast);
  EXPECT_EQ(kd::parse_enum<kd::Dataset>("text_dataset", "--dataset"), kd::Dataset::kText);
  try {
    kd::parse_enum<Precision>("half", "--precision");
    FAIL() << "unknown spelling accepted";
  } catch (const kd::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--precision"), std::string::npos) << m;
    EXPECT_NE(m.find("fp16|16|16-mixed"), std::string::npos) << m;
  }
}

TEST(LossTable, NamesInputsAndDefaultsComeFromOnePlace) {
  EXPECT_EQ(kd::known_loss_names(),
            (std::vector<std::string>{"l1", "kl", "ce", "cos", "fd", "affinity", "affinity_topk", "icl"}));
  EXPECT_EQ(kd::loss_inputs({{"kl", 1, 1}, {"l1", 1, 1}}), unsigned(kd::kLossTeacher));
  EXPECT_EQ(kd::loss_inputs({{"affinity_topk", 1, 1}}), unsigned(kd::kLossBank | kd::kLossTopk));
  EXPECT_EQ(kd::loss_inputs({{"icl", 1, 1}}), unsigned(kd::kLossTeacherOther));
  const kd::TrainOptions defaults;
  const auto specs = kd::default_loss_specs();
  ASSERT_EQ(specs.size(), defaults.loss.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_EQ(specs[i].name, defaults.loss[i]);
    EXPECT_EQ(specs[i].weight, defaults.weight[i]);
  }
}

// kd-extract and kd-train read both precision spellings (the Makefile passes one PRECISION to both).
TEST(ToolPrecision, BothSpellingsReachTheLibrary) {
  kd::test::TempDir dir("kd-precision");
  std::filesystem::create_directories(dir / "images");
  const std::string base = kd::test::tool("kd-extract") + " image --quiet --teacher " +
                           kd::test::quoted(dir / "none.safetensors") + " --images " +
                           kd::test::quoted(dir / "images") + " --out " + kd::test::quoted(dir / "out");
  for (const char* p : {"16", "fp16", "16-mixed"}) {
    auto r = kd::test::run_command(base + " --precision " + p);
    EXPECT_EQ(r.status, 2) << r.output;  // a usage error
    EXPECT_NE(r.output.find("fp16 teacher compute needs a CUDA device"), std::string::npos) << p << ": " << r.output;
  }
  auto r = kd::test::run_command(base + " --precision 32");
  EXPECT_EQ(r.output.find("--precision"), std::string::npos) << r.output;  // accepted; fails later (no teacher)
  r = kd::test::run_command(base + " --precision fp64");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("bf16|bf16-mixed"), std::string::npos) << r.output;
  r = kd::test::run_command(kd::test::tool("kd-train") + " --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("fp32|32"), std::string::npos) << r.output;
  r = kd::test::run_command(kd::test::tool("kd-train") + " --quiet --threads -2 --data_dir " +
                            kd::test::quoted(dir.path()));
  EXPECT_EQ(r.status, 2) << r.output;  // a usage error
  EXPECT_NE(r.output.find("--threads"), std::string::npos) << r.output;
}

}  // namespace
