// The loader's expected key/shape tables for ViT-B/32 equal the real checkpoints' (shared/golden/*.keys.tsv).
#include <gtest/gtest.h>

#include <fstream>

#include "common/clip/checkpoint_keys.h"
#include "common/util/shape_string.h"
#include "tests/test_support.h"

namespace {

// name -> "[a, b]" lines of a keys.tsv, in file order.
std::vector<std::pair<std::string, std::string>> read_tsv(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

void expect_same_table(const std::vector<kd::TensorSpec>& ours, const std::filesystem::path& tsv, bool ordered) {
  auto theirs = read_tsv(tsv);
  ASSERT_FALSE(theirs.empty()) << tsv;
  std::vector<std::pair<std::string, std::string>> mine;
  for (const auto& s : ours) mine.emplace_back(s.name, kd::shape_to_string(s.shape));
  if (!ordered) {
    std::sort(mine.begin(), mine.end());
    std::sort(theirs.begin(), theirs.end());
  }
  ASSERT_EQ(mine.size(), theirs.size()) << tsv;
  for (size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i].first, theirs[i].first) << "row " << i << " of " << tsv;
    EXPECT_EQ(mine[i].second, theirs[i].second) << mine[i].first;
  }
}

}  // namespace

TEST(CheckpointKeys, VitB32OpenAiTableEqualsRealCheckpoint) {
  KD_REQUIRE_SHARED(shared);
  expect_same_table(kd::openai_tensor_specs(kd::vit_b_32_config()), shared / "golden/vit-b-32.openai.keys.tsv",
                    /*ordered=*/true);
}

TEST(CheckpointKeys, VitB32HfTableEqualsRealCheckpoint) {
  KD_REQUIRE_SHARED(shared);
  expect_same_table(kd::hf_tensor_specs(kd::vit_b_32_config()), shared / "golden/vit-b-32.hf.keys.tsv",
                    /*ordered=*/false);
}

TEST(CheckpointKeys, SingleTowerTablesHaveNoLogitScale) {
  auto image = kd::openai_tensor_specs(kd::seed_image_student_config());
  for (const auto& s : image) {
    EXPECT_EQ(s.name.rfind("visual.", 0), 0u) << s.name;
  }
  auto text = kd::hf_tensor_specs(kd::seed_text_student_config());
  for (const auto& s : text) {
    EXPECT_TRUE(s.name.rfind("text_model.", 0) == 0 || s.name == "text_projection.weight") << s.name;
  }
}
