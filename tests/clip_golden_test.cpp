// CLIP in C++ equals OpenAI's own code: features, embeddings and logits of golden/tiny-clip from every weight format
// (HF folder with model.safetensors or pytorch_model.bin, OpenAI .safetensors, TorchScript .pt) against
// reference.safetensors (computed with OpenAI's clip/model.py). Also the loader's strict checks.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "common/clip/checkpoint_keys.h"
#include "common/clip/clip_checkpoint.h"
#include "common/clip/safetensors.h"
#include "common/clip/tensor_io.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/test_support.h"
#include "tests/torch_fixtures.h"

namespace {

at::Tensor reference(const std::filesystem::path& shared, const std::string& name) {
  auto file = kd::SafetensorsFile::open(shared / "golden/tiny-clip/reference.safetensors");
  return kd::tensor_from_safetensors(file.at(name));
}

// max |a - b| / max |b|, with the location of the largest difference in the message.
void expect_relative_close(const at::Tensor& got, const at::Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  at::Tensor diff = (got - want).abs();
  const double rel = diff.max().item<double>() / want.abs().max().item<double>();
  const int64_t where = diff.flatten().argmax().item<int64_t>();
  EXPECT_LE(rel, tol) << what << ": max relative difference " << rel << " at flat index " << where;
  std::cout << "[golden] " << what << ": max |diff| / max |ref| = " << rel << "\n";
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const kd::Error& e) {
    return e.what();
  }
  return "";
}

// Where a format's golden weights are: in shared/golden/tiny-clip, or (pytorch_model.bin) written at test time.
std::filesystem::path golden_weights(const std::filesystem::path& shared, const std::string& format) {
  const std::filesystem::path golden = shared / "golden/tiny-clip";
  if (format == "hf") return golden;
  if (format.rfind("hf-pytorch-bin", 0) == 0) {
    std::string error;
    const std::filesystem::path dir = kd::test::golden_pytorch_bin_folder(shared, &error);
    if (dir.empty()) ADD_FAILURE() << error;
    return format == "hf-pytorch-bin" ? dir : dir / "pytorch_model.bin";
  }
  return golden / format;
}

class ClipGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ClipGolden, MatchesOpenAiReference) {
  KD_REQUIRE_SHARED(shared);
  if (GetParam().rfind("hf-pytorch-bin", 0) == 0 && !kd::test::python_torch_available()) {
    if (kd::test::running_in_ci()) FAIL() << "/usr/bin/python3 with python3-torch missing under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 with python3-torch is needed to write pytorch_model.bin";
  }
  const std::filesystem::path path = golden_weights(shared, GetParam());
  ASSERT_FALSE(path.empty() || path == "pytorch_model.bin");
  kd::LoadedClip loaded = kd::load_clip(path);
  if (GetParam().rfind("hf", 0) == 0) EXPECT_EQ(loaded.format, kd::CheckpointFormat::kHfDirectory);
  kd::ClipModel& m = loaded.model;
  EXPECT_EQ(m.config.vision.n_heads, 2);
  EXPECT_EQ(m.config.text.n_heads, 1);
  at::NoGradGuard no_grad;
  kd::TowerOutput image = m.visual->forward(reference(shared, "pixels"));
  kd::TowerOutput text = m.text->forward(reference(shared, "tokens"));
  expect_relative_close(image.features, reference(shared, "image_features"), 1e-4, GetParam() + " image_features");
  expect_relative_close(image.embeds, reference(shared, "image_embeds"), 1e-4, GetParam() + " image_embeds");
  expect_relative_close(text.features, reference(shared, "text_features"), 1e-4, GetParam() + " text_features");
  expect_relative_close(text.embeds, reference(shared, "text_embeds"), 1e-4, GetParam() + " text_embeds");
  EXPECT_NEAR(m.logit_scale.item<double>(), reference(shared, "logit_scale").item<double>(), 1e-6);
  at::Tensor i = image.embeds / image.embeds.norm(2, -1, true);
  at::Tensor t = text.embeds / text.embeds.norm(2, -1, true);
  at::Tensor logits = m.logit_multiplier() * at::matmul(i, t.t());  // [8, 46]
  const double max_abs = (logits - reference(shared, "logits_per_image")).abs().max().item<double>();
  EXPECT_LE(max_abs, 1e-3) << "logits_per_image";
  std::cout << "[golden] " << GetParam() << " logits_per_image max |diff| = " << max_abs << "\n";
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ClipGolden,
                         ::testing::Values("hf", "openai.safetensors", "openai-jit.pt", "hf-pytorch-bin",
                                           "hf-pytorch-bin/pytorch_model.bin"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(ClipConfig, InferredFromOpenAiShapesEqualsHfConfig) {
  KD_REQUIRE_SHARED(shared);
  kd::ClipConfig hf = kd::read_hf_clip_config(shared / "golden/tiny-clip/config.json");
  kd::ClipConfig openai = kd::load_clip(shared / "golden/tiny-clip/openai.safetensors").model.config;
  EXPECT_EQ(kd::clip_config_to_json(hf).dump(), kd::clip_config_to_json(openai).dump());
}

TEST(ClipConfig, KdJsonRoundTrip) {
  kd::ClipConfig c = kd::seed_image_student_config();
  kd::ClipConfig back = kd::clip_config_from_json(kd::clip_config_to_json(c), "test");
  EXPECT_EQ(kd::clip_config_to_json(back).dump(), kd::clip_config_to_json(c).dump());
  EXPECT_EQ(back.vision.n_heads, 24);
  EXPECT_FALSE(back.has_text);
}

TEST(ClipConfig, RejectsImpossibleConfigs) {
  kd::ClipConfig c = kd::seed_image_student_config();
  c.vision.n_heads = 7;
  EXPECT_NE(message_of([&] { kd::validate_clip_config(c, "cfg.json"); }).find("vision.n_heads"), std::string::npos);
  nlohmann::json j = {{"projection_dim", 64},
                      {"vision_config", {{"hidden_size", 64}, {"num_attention_heads", 1}, {"hidden_act", "gelu"}}}};
  std::string msg = message_of([&] { kd::clip_config_from_hf_json(j, "config.json"); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("quick_gelu"), std::string::npos) << msg;
  EXPECT_NE(message_of([&] { kd::clip_config_from_hf_json(nlohmann::json{{"model_type", "bert"}}, "c.json"); })
                .find("not a CLIP config"),
            std::string::npos);
}

TEST(ClipCheckpoint, MalformedConfigJsonNamesTheFile) {
  kd::test::TempDir dir;
  kd::write_file_atomic(dir / "config.json", "{ not json");
  kd::write_file_atomic(dir / "model.safetensors", "");
  std::string msg = message_of([&] { kd::load_clip(dir.path()); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
}

// Writes the golden OpenAI tensors with one edit and checks the loader's complaint.
class ClipCheckpointEdits : public ::testing::Test {
 protected:
  std::string load_edited(const std::function<void(std::map<std::string, at::Tensor>&)>& edit) {
    auto st = kd::SafetensorsFile::open(shared_ / "golden/tiny-clip/openai.safetensors");
    std::map<std::string, at::Tensor> tensors;
    for (const auto& n : st.names()) tensors[n] = kd::tensor_from_safetensors(st.at(n));
    edit(tensors);
    std::vector<std::pair<std::string, at::Tensor>> list(tensors.begin(), tensors.end());
    const auto out = dir_ / "edited.safetensors";
    kd::write_safetensors_tensors(out, list, {});
    return message_of([&] { kd::load_clip(out); });
  }
  void SetUp() override {
    shared_ = kd::test::shared_dir();
    if (shared_.empty()) {
      if (kd::test::running_in_ci()) FAIL() << "shared fixtures missing under CI=true";
      GTEST_SKIP() << "shared fixtures not found (KD_SHARED)";
    }
  }
  std::filesystem::path shared_;
  kd::test::TempDir dir_;
};

TEST_F(ClipCheckpointEdits, MissingTensor) {
  std::string msg = load_edited([](auto& t) { t.erase("visual.transformer.resblocks.1.ln_2.bias"); });
  EXPECT_NE(msg.find("missing tensor"), std::string::npos) << msg;
  EXPECT_NE(msg.find("visual.transformer.resblocks.1.ln_2.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("edited.safetensors"), std::string::npos) << msg;
}

TEST_F(ClipCheckpointEdits, UnexpectedTensor) {
  std::string msg = load_edited([](auto& t) { t["visual.extra_head.weight"] = at::zeros({3}); });
  EXPECT_NE(msg.find("unexpected tensor"), std::string::npos) << msg;
  EXPECT_NE(msg.find("visual.extra_head.weight"), std::string::npos) << msg;
}

TEST_F(ClipCheckpointEdits, WrongShape) {
  std::string msg = load_edited([](auto& t) { t["visual.ln_post.weight"] = at::zeros({127}); });
  EXPECT_NE(msg.find("wrong shape"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected [128]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("got [127]"), std::string::npos) << msg;
}

TEST(ClipCheckpoint, HfAndOpenAiWritersRoundTrip) {
  kd::ClipConfig c = kd::seed_text_student_config();
  c.text.n_layers = 1;
  c.text.vocab_size = 49408;
  kd::ClipModel m = kd::ClipModel::create(c, 7);
  kd::test::TempDir dir;
  kd::save_clip_hf(m, dir / "hf");
  kd::save_clip_openai_safetensors(m, dir / "student.safetensors");
  for (const auto& path : {dir / "hf", dir / "student.safetensors"}) {
    kd::ClipModel back = kd::load_clip(path).model;
    auto a = m.named_tensors(), b = back.named_tensors();
    ASSERT_EQ(a.size(), b.size()) << path;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].first, b[i].first);
      EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << path << " " << a[i].first;
    }
  }
}

// A HF folder holds model.safetensors or pytorch_model.bin; with both, model.safetensors is read (as transformers
// does). One of those files with config.json beside it is the same checkpoint.
TEST(ClipCheckpoint, HfFolderWeightsFile) {
  kd::test::TempDir dir;
  kd::write_file_atomic(dir / "config.json", "{}");
  std::string msg = message_of([&] { kd::checkpoint_weights_file(dir.path()); });
  EXPECT_NE(msg.find("pytorch_model.bin"), std::string::npos) << msg;
  kd::write_file_atomic(dir / "pytorch_model.bin", "");
  EXPECT_EQ(kd::checkpoint_weights_file(dir.path()), dir / "pytorch_model.bin");
  EXPECT_EQ(kd::detect_checkpoint_format(dir / "pytorch_model.bin"), kd::CheckpointFormat::kHfDirectory);
  kd::write_file_atomic(dir / "model.safetensors", "");
  EXPECT_EQ(kd::checkpoint_weights_file(dir.path()), dir / "model.safetensors");
  EXPECT_EQ(kd::checkpoint_weights_file(dir / "pytorch_model.bin"), dir / "pytorch_model.bin");
  EXPECT_EQ(kd::detect_checkpoint_format(dir / "model.safetensors"), kd::CheckpointFormat::kHfDirectory);
}

class ClipCheckpointPytorchBin : public ::testing::Test {
 protected:
  void SetUp() override {
    KD_REQUIRE_SHARED_AND_TORCH(shared);
    shared_ = shared;
    std::string error;
    folder_ = kd::test::golden_pytorch_bin_folder(shared_, &error);
    ASSERT_FALSE(folder_.empty()) << error;
  }
  std::filesystem::path shared_, folder_;
  kd::test::TempDir dir_;
};

// HF-named tensors without their config.json (head counts are not in the file): the message says what is missing.
TEST_F(ClipCheckpointPytorchBin, WithoutConfigJsonSaysSo) {
  std::filesystem::copy_file(folder_ / "pytorch_model.bin", dir_ / "pytorch_model.bin");
  const std::string msg = message_of([&] { kd::load_clip(dir_ / "pytorch_model.bin"); });
  EXPECT_NE(msg.find("Hugging Face-layout weights without their config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find((dir_ / "pytorch_model.bin").string()), std::string::npos) << msg;
}

// The same tensors saved in torch.save's legacy (non-zip) format, which LibTorch cannot read: a message saying so.
TEST_F(ClipCheckpointPytorchBin, LegacySerialisationIsNamed) {
  std::filesystem::copy_file(folder_ / "config.json", dir_ / "config.json");
  const auto r = kd::test::run_command(kd::test::torch_fixtures_command() + " pytorch-bin " +
                                       kd::test::quoted(shared_ / "golden/tiny-clip/model.safetensors") + " " +
                                       kd::test::quoted(dir_ / "pytorch_model.bin") + " --legacy");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string msg = message_of([&] { kd::load_clip(dir_.path()); });
  EXPECT_NE(msg.find("not a zip-format torch.save file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("legacy"), std::string::npos) << msg;
}

// The key and shape checks apply to pytorch_model.bin as to model.safetensors.
TEST_F(ClipCheckpointPytorchBin, KeyAndShapeChecksApply) {
  for (const char* f : {"config.json", "pytorch_model.bin"})
    std::filesystem::copy_file(folder_ / f, dir_ / f);
  kd::write_file_atomic(dir_ / "config.json",
                        [&] {
                          nlohmann::json j = nlohmann::json::parse(kd::read_file(folder_ / "config.json"));
                          j["text_config"]["hidden_size"] = 32;  // the file's text tower is 64 wide
                          return j.dump();
                        }());
  const std::string msg = message_of([&] { kd::load_clip(dir_.path()); });
  EXPECT_NE(msg.find("pytorch_model.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wrong shape"), std::string::npos) << msg;
}

}  // namespace
