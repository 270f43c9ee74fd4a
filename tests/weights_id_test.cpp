// The teacher id (common/clip/weights_id.h): the same weights in every file format give one id, equal to the
// documented Python definition (docs/cache-format.md), and one changed value changes it.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/weights_id.h"
#include "common/util/sha256.h"
#include "tests/extract_helpers.h"
#include "tests/test_support.h"
#include "tests/torch_fixtures.h"

namespace {

class WeightsId : public ::testing::Test {
 protected:
  void SetUp() override {
    KD_REQUIRE_SHARED_AND_TORCH(shared);
    shared_ = shared;
    golden_ = shared_ / "golden/tiny-clip";
  }
  std::filesystem::path shared_, golden_;
};

TEST_F(WeightsId, SameWeightsInEveryFormatGiveOneId) {
  std::string error;
  const std::filesystem::path bin = kd::test::golden_pytorch_bin_folder(shared_, &error);
  ASSERT_FALSE(bin.empty()) << error;
  const std::string id = kd::clip_weights_id(kd::load_clip(golden_ / "openai.safetensors").model);
  EXPECT_EQ(id.size(), 64u);
  for (const auto& path : {golden_, golden_ / "openai-jit.pt", bin, bin / "pytorch_model.bin"})
    EXPECT_EQ(kd::clip_weights_id(kd::load_clip(path).model), id) << path;
  // Not a file hash: the files differ byte for byte.
  EXPECT_NE(id, kd::sha256_file_hex(golden_ / "openai.safetensors"));
}

TEST_F(WeightsId, EqualsTheDocumentedPythonDefinition) {
  const auto r = kd::test::run_command(kd::test::torch_fixtures_command() + " weights-id " +
                                       kd::test::quoted(golden_ / "openai.safetensors"));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string python = r.output.substr(0, r.output.find('\n'));
  EXPECT_EQ(kd::clip_weights_id(kd::load_clip(golden_ / "openai.safetensors").model), python);
}

TEST_F(WeightsId, OneChangedValueChangesIt) {
  kd::ClipModel m = kd::load_clip(golden_).model;
  const std::string before = kd::clip_weights_id(m);
  at::NoGradGuard no_grad;
  for (auto& [name, t] : m.named_tensors())
    if (name == "transformer.resblocks.1.mlp.c_proj.bias") {
      float* p = t.data_ptr<float>() + 3;
      *p = std::nextafter(*p, INFINITY);  // one ulp
    }
  EXPECT_NE(kd::clip_weights_id(m), before);
}

}  // namespace
