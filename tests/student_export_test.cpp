// kd-export: tiny students written as HF folders (one tower, and one CLIPModel from two) and as OpenAI-layout
// safetensors, read back with kd's loader: same embeddings (1e-6), the HF keys/shapes/config HF expects, tokenizer
// files that tokenize like the original.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/clip/checkpoint_keys.h"
#include "common/clip/clip_checkpoint.h"
#include "common/clip/safetensors.h"
#include "common/export/student_export.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

kd::ClipConfig tiny_image_config() {
  kd::ClipConfig c = kd::seed_image_student_config();
  c.vision = {64, 2, 2, 256, 32, 64};  // width, layers, heads, mlp, patch, image size
  c.embed_dim = 48;
  return c;
}

kd::ClipConfig tiny_text_config() {
  kd::ClipConfig c = kd::seed_text_student_config();
  c.text = {32, 2, 2, 128, 77, 49408};
  c.embed_dim = 48;
  return c;
}

torch::Tensor image_input(int64_t res) {
  auto gen = at::detail::createCPUGenerator(5);
  return at::randn({3, 3, res, res}, gen, torch::kFloat);
}

torch::Tensor text_input() {
  auto t = torch::zeros({2, 77}, torch::kLong);
  t[0][0] = 49406; t[0][1] = 320; t[0][2] = 1929; t[0][3] = 49407;
  t[1][0] = 49406; t[1][1] = 530; t[1][2] = 49407;
  return t;
}

// Max |a - b| of the embeddings of the towers both models have, on fixed inputs.
double max_embed_diff(kd::ClipModel& a, kd::ClipModel& b) {
  c10::InferenceMode guard;
  double m = 0;
  if (a.config.has_vision && b.config.has_vision) {
    auto x = image_input(a.config.vision.image_size);
    m = std::max(m, (a.visual->forward(x).embeds - b.visual->forward(x).embeds).abs().max().item<double>());
  }
  if (a.config.has_text && b.config.has_text) {
    auto x = text_input();
    m = std::max(m, (a.text->forward(x).embeds - b.text->forward(x).embeds).abs().max().item<double>());
  }
  return m;
}

struct Students {
  kd::test::TempDir tmp{"kd-export"};
  kd::ClipModel image = kd::ClipModel::create(tiny_image_config(), 1);
  kd::ClipModel text = kd::ClipModel::create(tiny_text_config(), 2);
  fs::path image_file = tmp / "image-student.safetensors";
  fs::path text_file = tmp / "text-student.safetensors";
  Students() {
    kd::save_clip_openai_safetensors(image, image_file);
    kd::save_clip_openai_safetensors(text, text_file);
  }
};

// Every HF key and shape of `config` present in DIR/model.safetensors, nothing else.
void expect_hf_keys(const fs::path& dir, const kd::ClipConfig& config) {
  kd::SafetensorsFile st = kd::SafetensorsFile::open(dir / "model.safetensors");
  std::map<std::string, std::vector<int64_t>> found;
  for (const auto& n : st.names()) found[n] = st.at(n).shape;
  std::map<std::string, std::vector<int64_t>> want;
  for (const auto& s : kd::hf_tensor_specs(config)) want[s.name] = s.shape;
  EXPECT_EQ(found, want);
}

}  // namespace

TEST(StudentExport, OpenAiLayoutRoundTripBothTowersAlone) {
  Students s;
  for (bool vision : {true, false}) {
    kd::ExportOptions o;
    (vision ? o.image_student : o.text_student) = vision ? s.image_file : s.text_file;
    o.layout = kd::ExportLayout::kOpenAi;
    o.out = s.tmp / (vision ? "img-out.safetensors" : "txt-out.safetensors");
    kd::export_students(o);
    kd::LoadedClip back = kd::load_clip(o.out);
    EXPECT_EQ(back.model.config.has_vision, vision);
    EXPECT_EQ(back.model.config.has_text, !vision);
    EXPECT_LE(max_embed_diff(vision ? s.image : s.text, back.model), 1e-6);
    // No logit_scale in a single-tower OpenAI file; keys are OpenAI's (visual.* or top-level text keys).
    kd::SafetensorsFile st = kd::SafetensorsFile::open(o.out);
    for (const auto& n : st.names()) {
      EXPECT_NE(n, "logit_scale");
      if (vision) {
        EXPECT_EQ(n.rfind("visual.", 0), 0u) << n;
      }
    }
  }
}

TEST(StudentExport, HfImageStudentIsAClipVisionModelWithProjection) {
  Students s;
  kd::ExportOptions o;
  o.image_student = s.image_file;
  o.out = s.tmp / "hf-image";
  const kd::ExportResult r = kd::export_students(o);
  EXPECT_EQ(r.files.size(), 3u);
  const auto config = nlohmann::json::parse(kd::read_file(o.out / "config.json"));
  EXPECT_EQ(config["architectures"], nlohmann::json({"CLIPVisionModelWithProjection"}));
  EXPECT_EQ(config["model_type"], "clip_vision_model");
  EXPECT_EQ(config["hidden_size"], 64);
  EXPECT_EQ(config["num_attention_heads"], 2);
  EXPECT_EQ(config["intermediate_size"], 256);
  EXPECT_EQ(config["image_size"], 64);
  EXPECT_EQ(config["projection_dim"], 48);
  EXPECT_EQ(config["hidden_act"], "quick_gelu");
  const auto pre = nlohmann::json::parse(kd::read_file(o.out / "preprocessor_config.json"));
  EXPECT_EQ(pre["image_processor_type"], "CLIPImageProcessor");
  EXPECT_EQ(pre["size"]["shortest_edge"], 64);
  EXPECT_EQ(pre["crop_size"], nlohmann::json({{"height", 64}, {"width", 64}}));
  EXPECT_EQ(pre["resample"], 3);
  EXPECT_DOUBLE_EQ(pre["image_std"][2].get<double>(), 0.27577711);
  expect_hf_keys(o.out, s.image.config);
  kd::LoadedClip back = kd::load_clip(o.out);
  EXPECT_EQ(back.format, kd::CheckpointFormat::kHfDirectory);
  EXPECT_LE(max_embed_diff(s.image, back.model), 1e-6);
  EXPECT_FALSE(fs::exists(o.out.string() + ".tmp"));
  EXPECT_THROW(kd::export_students(o), kd::Error);  // exists: not overwritten
}

TEST(StudentExport, HfTextStudentCarriesTokenizerFiles) {
  KD_REQUIRE_SHARED(shared);
  Students s;
  kd::ExportOptions o;
  o.text_student = s.text_file;
  o.out = s.tmp / "hf-text";
  EXPECT_THROW(kd::export_students(o), kd::Error);  // no tokenizer given, and the student file has none
  o.tokenizer = shared / "clip" / "bpe_simple_vocab_16e6.txt.gz";
  kd::export_students(o);
  const auto config = nlohmann::json::parse(kd::read_file(o.out / "config.json"));
  EXPECT_EQ(config["architectures"], nlohmann::json({"CLIPTextModelWithProjection"}));
  EXPECT_EQ(config["model_type"], "clip_text_model");
  EXPECT_EQ(config["hidden_size"], 32);
  EXPECT_EQ(config["max_position_embeddings"], 77);
  expect_hf_keys(o.out, s.text.config);
  kd::LoadedClip back = kd::load_clip(o.out);
  EXPECT_LE(max_embed_diff(s.text, back.model), 1e-6);
  // vocab.json and merges.txt: the same tokens and merges as HF's own files for CLIP (the golden folder's), and
  // they tokenize like OpenAI's .gz.
  const fs::path golden = shared / "golden" / "tiny-clip";
  EXPECT_EQ(nlohmann::json::parse(kd::read_file(o.out / "vocab.json")),
            nlohmann::json::parse(kd::read_file(golden / "vocab.json")));
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    size_t a = 0;
    while (a < text.size()) {
      size_t b = text.find('\n', a);
      if (b == std::string::npos) b = text.size();
      if (b > a) out.push_back(text.substr(a, b - a));
      a = b + 1;
    }
    return out;
  };
  auto got = lines(kd::read_file(o.out / "merges.txt")), want = lines(kd::read_file(golden / "merges.txt"));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 1; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "merges.txt line " << i + 1;
  const auto a = kd::BpeTokenizer::load(o.out), b = kd::BpeTokenizer::load(o.tokenizer);
  const std::vector<std::string> texts{"A man riding a wave on top of a surfboard.", "Two dogs &amp; a cat!"};
  EXPECT_EQ(a.tokenize(texts).tokens, b.tokenize(texts).tokens);
  const auto tc = nlohmann::json::parse(kd::read_file(o.out / "tokenizer_config.json"));
  EXPECT_EQ(tc["tokenizer_class"], "CLIPTokenizer");
}

TEST(StudentExport, CombinedClipModelFolderPassesTheLoaderAgainstItsConfig) {
  KD_REQUIRE_SHARED(shared);
  Students s;
  kd::ExportOptions o;
  o.image_student = s.image_file;
  o.text_student = s.text_file;
  o.tokenizer = shared / "clip" / "bpe_simple_vocab_16e6.txt.gz";
  o.logit_scale = 42.0;
  o.out = s.tmp / "hf-clip";
  kd::export_students(o);
  const auto config = nlohmann::json::parse(kd::read_file(o.out / "config.json"));
  EXPECT_EQ(config["architectures"], nlohmann::json({"CLIPModel"}));
  EXPECT_EQ(config["model_type"], "clip");
  EXPECT_EQ(config["projection_dim"], 48);
  EXPECT_EQ(config["vision_config"]["hidden_size"], 64);
  EXPECT_EQ(config["vision_config"]["num_attention_heads"], 2);
  EXPECT_EQ(config["vision_config"]["intermediate_size"], 256);
  EXPECT_EQ(config["text_config"]["hidden_size"], 32);
  EXPECT_EQ(config["text_config"]["num_attention_heads"], 2);
  EXPECT_EQ(config["text_config"]["intermediate_size"], 128);
  EXPECT_EQ(config["text_config"]["hidden_act"], "quick_gelu");
  EXPECT_EQ(config["vision_config"]["hidden_act"], "quick_gelu");
  // The keys and shapes HF's CLIPModel has for the config the folder itself states.
  const kd::ClipConfig stated = kd::read_hf_clip_config(o.out / "config.json");
  EXPECT_TRUE(stated.has_vision && stated.has_text);
  expect_hf_keys(o.out, stated);
  for (const char* f : {"preprocessor_config.json", "vocab.json", "merges.txt"}) EXPECT_TRUE(fs::exists(o.out / f)) << f;
  // kd reads it as it reads a teacher: both towers, same embeddings, logit_scale log(42).
  kd::LoadedClip back = kd::load_clip(o.out);
  EXPECT_LE(max_embed_diff(s.image, back.model), 1e-6);
  EXPECT_LE(max_embed_diff(s.text, back.model), 1e-6);
  EXPECT_NEAR(back.model.logit_multiplier(), 42.0, 1e-4);
  // OpenAI layout of the pair.
  o.layout = kd::ExportLayout::kOpenAi;
  o.out = s.tmp / "clip.safetensors";
  kd::export_students(o);
  kd::LoadedClip back2 = kd::load_clip(o.out);
  EXPECT_LE(max_embed_diff(s.image, back2.model), 1e-6);
  EXPECT_LE(max_embed_diff(s.text, back2.model), 1e-6);
  EXPECT_NEAR(back2.model.logit_multiplier(), 42.0, 1e-4);
}

TEST(StudentExport, RefusesMismatchedTowersAndBadOutputs) {
  Students s;
  kd::ClipConfig other = tiny_text_config();
  other.embed_dim = 40;
  kd::save_clip_openai_safetensors(kd::ClipModel::create(other, 3), s.tmp / "t40.safetensors");
  kd::ExportOptions o;
  o.image_student = s.image_file;
  o.text_student = s.tmp / "t40.safetensors";
  o.layout = kd::ExportLayout::kOpenAi;
  o.out = s.tmp / "x.safetensors";
  EXPECT_THROW(kd::export_students(o), kd::Error);  // embed_dim 48 vs 40
  o.text_student.clear();
  o.out = s.tmp / "x.bin";
  EXPECT_THROW(kd::export_students(o), kd::Error);  // openai layout wants .safetensors
  o.image_student = s.text_file;                    // a text student passed as the image
  o.out = s.tmp / "y.safetensors";
  EXPECT_THROW(kd::export_students(o), kd::Error);
}

TEST(StudentExport, FullClipAsStudentGivesItsTowerAndTheBinaryWorks) {
  KD_REQUIRE_SHARED(shared);
  const auto bin = kd::test::bin_dir() / "kd-export";
  if (!fs::exists(bin)) GTEST_SKIP() << "build kd-export first";
  kd::test::TempDir tmp("kd-export-bin");
  const fs::path golden = shared / "golden" / "tiny-clip";
  // The golden teacher's two towers, exported from two "students" that are each a full CLIP, into one CLIPModel.
  const std::string cmd = bin.string() + " --image " + golden.string() + " --text " + golden.string() +
                          " --teacher " + golden.string() + " --out " + (tmp / "clip").string() + " > " +
                          (tmp / "log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << kd::read_file(tmp / "log");
  kd::LoadedClip a = kd::load_clip(golden), b = kd::load_clip(tmp / "clip");
  EXPECT_LE(max_embed_diff(a.model, b.model), 1e-6);
  EXPECT_NEAR(b.model.logit_multiplier(), a.model.logit_multiplier(), 1e-3);
  EXPECT_EQ(WEXITSTATUS(std::system((bin.string() + " --help > /dev/null").c_str())), 0);
  EXPECT_EQ(WEXITSTATUS(std::system((bin.string() + " 2> /dev/null").c_str())), 2);  // --out required
  EXPECT_EQ(WEXITSTATUS(std::system((bin.string() + " --image " + golden.string() + " --out " +
                                     (tmp / "clip").string() + " 2> /dev/null").c_str())), 1);  // exists
}
