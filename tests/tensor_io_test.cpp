// safetensors <-> LibTorch tensors: every dtype round trips bit for bit; golden values read from the tiny-clip files.
#include "common/clip/tensor_io.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/util/error.h"
#include "tests/test_support.h"

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST(TensorIo, EveryDtypeRoundTripsBitForBit) {
  kd::test::TempDir dir;
  const auto p = dir / "t.safetensors";
  torch::manual_seed(7);
  const torch::Tensor base = torch::randn({3, 4}) * 100;  // [3, 4] float32
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"f64", base.to(torch::kFloat64)},
      {"f32", base},
      {"f16", base.to(torch::kFloat16)},
      {"bf16", base.to(torch::kBFloat16)},
      {"i64", base.to(torch::kInt64) * static_cast<int64_t>(1000000000)},
      {"i32", base.to(torch::kInt32)},
      {"i16", base.to(torch::kInt16)},
      {"i8", base.clamp(-128, 127).to(torch::kInt8)},
      {"u8", base.abs().clamp(0, 255).to(torch::kUInt8)},
      {"bool", base > 0},
      {"transposed", base.t()},                                        // non-contiguous view: [4, 3]
      {"sliced", base.index({torch::indexing::Slice(), 1})},           // strided view: [3]
      {"grad", torch::ones({2, 2}, torch::requires_grad())},           // detached on write
      {"scalar", torch::tensor(2.5f).reshape({})},                     // []
      {"empty", torch::zeros({0, 5}, torch::kInt32)},                  // [0, 5]
  };
  kd::write_safetensors_tensors(p, tensors, {{"format", "pt"}});

  kd::SafetensorsFile f = kd::SafetensorsFile::open(p);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.names().size(), tensors.size());
  for (const auto& [name, want] : tensors) {
    SCOPED_TRACE(name);
    torch::Tensor got = kd::tensor_from_safetensors(f.at(name));
    EXPECT_EQ(got.scalar_type(), want.scalar_type());
    EXPECT_EQ(got.sizes(), want.sizes());
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_FALSE(got.requires_grad());
    // Bit for bit: compare the raw bytes of contiguous copies.
    torch::Tensor w = want.detach().contiguous();
    ASSERT_EQ(got.nbytes(), w.nbytes());
    if (w.numel()) {
      EXPECT_EQ(std::memcmp(got.data_ptr(), w.data_ptr(), w.nbytes()), 0);
    }
  }
  EXPECT_EQ(f.at("transposed").shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(f.at("sliced").shape, (std::vector<int64_t>{3}));

  // The tensor owns its bytes: it survives the file being closed.
  torch::Tensor kept = kd::tensor_from_safetensors(f.at("f32"));
  { kd::SafetensorsFile gone = std::move(f); }
  EXPECT_TRUE(torch::equal(kept, base));
}

TEST(TensorIo, HalfAndBfloat16KeepTheirBits) {
  kd::SafetensorsEntry half{"h", "F16", {3}, nullptr, 6};
  const uint16_t half_bits[] = {0x3c00, 0xc000, 0x7bff};  // 1, -2, 65504
  half.data = reinterpret_cast<const uint8_t*>(half_bits);
  torch::Tensor h = kd::tensor_from_safetensors(half).to(torch::kFloat32);
  EXPECT_EQ(h[0].item<float>(), 1.0f);
  EXPECT_EQ(h[1].item<float>(), -2.0f);
  EXPECT_EQ(h[2].item<float>(), 65504.0f);

  kd::SafetensorsEntry bf{"b", "BF16", {2}, nullptr, 4};
  const uint16_t bf_bits[] = {0x3f80, 0x4049};  // 1, 3.140625
  bf.data = reinterpret_cast<const uint8_t*>(bf_bits);
  torch::Tensor b = kd::tensor_from_safetensors(bf).to(torch::kFloat32);
  EXPECT_EQ(b[0].item<float>(), 1.0f);
  EXPECT_EQ(b[1].item<float>(), 3.140625f);
}

TEST(TensorIo, ErrorsNameFileAndKey) {
  kd::test::TempDir dir;
  const auto p = dir / "c.safetensors";
  try {
    kd::write_safetensors_tensors(p, {{"ok", torch::ones({2})}, {"cplx", torch::ones({2}, torch::kComplexFloat)}});
    ADD_FAILURE() << "complex tensor written";
  } catch (const kd::Error& e) {
    EXPECT_TRUE(contains(e.what(), p.string())) << e.what();
    EXPECT_TRUE(contains(e.what(), "'cplx'")) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_THROW(kd::write_safetensors_tensors(p, {{"undef", torch::Tensor()}}), kd::Error);
  EXPECT_THROW(kd::torch_dtype_from_safetensors("F8_E4M3"), kd::Error);

  const uint8_t bad_bool[] = {0, 1, 2};
  kd::SafetensorsEntry e{"mask", "BOOL", {3}, bad_bool, 3};
  try {
    kd::tensor_from_safetensors(e);
    ADD_FAILURE() << "BOOL byte 2 accepted";
  } catch (const kd::Error& err) {
    EXPECT_TRUE(contains(err.what(), "'mask'")) << err.what();
  }
}

// Values computed once with numpy (np.frombuffer on the raw bytes) from the shared fixtures.
TEST(TensorIo, GoldenTinyClipValues) {
  KD_REQUIRE_SHARED(shared);
  kd::SafetensorsFile openai = kd::SafetensorsFile::open(shared / "golden/tiny-clip/openai.safetensors");
  torch::Tensor conv = kd::tensor_from_safetensors(openai.at("visual.conv1.weight"));  // [128, 3, 32, 32] float32
  EXPECT_EQ(conv.sizes(), (std::vector<int64_t>{128, 3, 32, 32}));
  EXPECT_EQ(conv.scalar_type(), torch::kFloat32);
  EXPECT_EQ(conv.flatten()[0].item<float>(), 0.009296479634940624f);
  EXPECT_EQ(conv.flatten()[-1].item<float>(), -0.0058104414492845535f);
  const double sum = conv.to(torch::kFloat64).sum().item<double>();
  EXPECT_NEAR(sum, 0.9269018574453298, 1e-9) << "float64 sum of all 393216 weights";
  torch::Tensor logit_scale = kd::tensor_from_safetensors(openai.at("logit_scale"));  // [] float32
  EXPECT_EQ(logit_scale.dim(), 0);
  EXPECT_EQ(logit_scale.item<float>(), 2.7592599391937256f);

  kd::SafetensorsFile ref = kd::SafetensorsFile::open(shared / "golden/tiny-clip/reference.safetensors");
  torch::Tensor tokens = kd::tensor_from_safetensors(ref.at("tokens"));  // [46, 77] int32
  EXPECT_EQ(tokens.scalar_type(), torch::kInt32);
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{46, 77}));
  EXPECT_EQ(tokens.to(torch::kInt64).sum().item<int64_t>(), 7336145);
  EXPECT_TRUE(torch::all(tokens.index({torch::indexing::Slice(), 0}) == 49406).item<bool>());
  EXPECT_EQ(kd::tensor_from_safetensors(ref.at("n_tokens")).to(torch::kInt64).sum().item<int64_t>(), 739);
}
