// --init-from-teacher's weight inheritance: which teacher layers, channels and heads a smaller student receives,
// checked value by value on random towers; shapes it cannot map are refused naming the option.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <map>

#include "common/clip/clip_model.h"
#include "common/distill/teacher_inheritance.h"
#include "common/util/error.h"

namespace {

std::map<std::string, at::Tensor> tensors_of(const kd::ClipModel& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [n, t] : m.named_tensors()) out[n] = t.detach();
  return out;
}

// A teacher whose every tensor (LayerNorms and biases too) holds distinct random values.
kd::ClipModel random_teacher(const kd::ClipConfig& c, uint64_t seed) {
  kd::ClipModel m = kd::ClipModel::create(c, seed);
  auto gen = at::detail::createCPUGenerator(seed);
  at::NoGradGuard no_grad;
  for (auto& [n, t] : m.named_tensors()) t.copy_(at::randn(t.sizes(), gen));
  return m;
}

TEST(TeacherInheritance, LayersAreEvenlySpacedKeepingFirstAndLast) {
  EXPECT_EQ(kd::inherited_layers(6, 12), (std::vector<int64_t>{0, 2, 4, 7, 9, 11}));
  EXPECT_EQ(kd::inherited_layers(4, 12), (std::vector<int64_t>{0, 4, 7, 11}));
  EXPECT_EQ(kd::inherited_layers(12, 12), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(kd::inherited_layers(1, 3), (std::vector<int64_t>{0}));
  EXPECT_THROW(kd::inherited_layers(4, 3), kd::Error);
}

TEST(TeacherInheritance, HeadsTakeChannelsOfOneTeacherHead) {
  // Seed image student: 24 heads of 24 channels from 12 teacher heads of 64: two student heads per teacher head.
  const auto c = kd::inherited_head_channels(576, 24, 768, 12);
  ASSERT_EQ(c.size(), 576u);
  EXPECT_EQ(c[0], 0);
  EXPECT_EQ(c[23], 23);
  EXPECT_EQ(c[24], 24);   // head 1: teacher head 0, channels 24..47
  EXPECT_EQ(c[48], 64);   // head 2: teacher head 1
  EXPECT_EQ(c[575], 11 * 64 + 47);
  // Seed text student: 8 heads of 16 from 8 teacher heads of 64: the first 16 channels of each.
  const auto t = kd::inherited_head_channels(128, 8, 512, 8);
  EXPECT_EQ(t[16], 64);
  EXPECT_EQ(t[127], 7 * 64 + 15);
  // Fewer heads than the teacher: spread evenly (4 of 8: teacher heads 0, 2, 4, 6).
  const auto s = kd::inherited_head_channels(96, 4, 512, 8);
  EXPECT_EQ(s[24], 2 * 64);
  // Three 32-channel heads cannot share one 64-channel teacher head.
  try {
    kd::inherited_head_channels(96, 3, 64, 1, "--transformer_heads");
    FAIL() << "heads that do not fit were accepted";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--transformer_heads"), std::string::npos) << e.what();
  }
}

TEST(TeacherInheritance, ImageStudentGetsTheChosenSlices) {
  kd::ClipConfig tc;
  tc.vision = {32, 4, 2, 128, 16, 32};  // width 32, 4 layers, 2 heads (16 each), mlp 128, patch 16 at 32 px
  tc.text = {32, 2, 2, 128, 8, 49408};
  tc.embed_dim = 16;
  const kd::ClipModel teacher = random_teacher(tc, 1);
  kd::ClipConfig sc;
  sc.has_text = false;
  sc.vision = {16, 2, 4, 64, 16, 32};  // width 16, 2 layers, 4 heads of 4: two per teacher head
  sc.embed_dim = 16;
  kd::ClipModel student = kd::ClipModel::create(sc, 2);
  const kd::InheritanceReport r = kd::inherit_from_teacher(student, teacher, /*image=*/true);
  EXPECT_EQ(r.teacher_layers, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(r.tensors, static_cast<int64_t>(student.named_tensors().size()));
  auto t = tensors_of(teacher), s = tensors_of(student);
  // Residual width: the leading 16 of 32 channels.
  EXPECT_TRUE(at::equal(s["visual.class_embedding"], t["visual.class_embedding"].slice(0, 0, 16)));
  EXPECT_TRUE(at::equal(s["visual.conv1.weight"], t["visual.conv1.weight"].slice(0, 0, 16)));
  EXPECT_TRUE(at::equal(s["visual.proj"], t["visual.proj"].slice(0, 0, 16)));
  EXPECT_TRUE(at::equal(s["visual.positional_embedding"], t["visual.positional_embedding"].slice(1, 0, 16)));
  // Student layer 1 is teacher layer 3. MLP: leading 64 of 128 hidden units.
  EXPECT_TRUE(at::equal(s["visual.transformer.resblocks.1.mlp.c_fc.weight"],
                        t["visual.transformer.resblocks.3.mlp.c_fc.weight"].slice(0, 0, 64).slice(1, 0, 16)));
  EXPECT_TRUE(at::equal(s["visual.transformer.resblocks.1.ln_2.bias"],
                        t["visual.transformer.resblocks.3.ln_2.bias"].slice(0, 0, 16)));
  // Heads: student heads 0, 1 <- teacher head 0 channels 0..3, 4..7; heads 2, 3 <- teacher head 1 (16..19, 20..23).
  const at::Tensor channels = at::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23});
  const at::Tensor tq = t["visual.transformer.resblocks.3.attn.in_proj_weight"];  // [96, 32]
  const at::Tensor sq = s["visual.transformer.resblocks.1.attn.in_proj_weight"];  // [48, 16]
  for (int64_t b = 0; b < 3; ++b)  // q, k, v alike
    EXPECT_TRUE(at::equal(sq.slice(0, b * 16, (b + 1) * 16), tq.index_select(0, channels + b * 32).slice(1, 0, 16)))
        << "block " << b;
  EXPECT_TRUE(at::equal(s["visual.transformer.resblocks.1.attn.out_proj.weight"],
                        t["visual.transformer.resblocks.3.attn.out_proj.weight"].slice(0, 0, 16).index_select(1, channels)));
  EXPECT_TRUE(at::equal(s["visual.transformer.resblocks.0.attn.in_proj_bias"].slice(0, 16, 32),
                        t["visual.transformer.resblocks.0.attn.in_proj_bias"].index_select(0, channels + 32)));
}

TEST(TeacherInheritance, TextStudentAndRefusals) {
  kd::ClipConfig tc;
  tc.vision = {32, 2, 2, 128, 16, 32};
  tc.text = {32, 3, 2, 128, 8, 49408};
  tc.embed_dim = 16;
  const kd::ClipModel teacher = random_teacher(tc, 3);
  kd::ClipConfig sc;
  sc.has_vision = false;
  sc.text = {16, 2, 2, 64, 6, 49408};  // context 6 of 8
  sc.embed_dim = 16;
  kd::ClipModel student = kd::ClipModel::create(sc, 4);
  const kd::InheritanceReport r = kd::inherit_from_teacher(student, teacher, /*image=*/false);
  EXPECT_EQ(r.teacher_layers, (std::vector<int64_t>{0, 2}));
  auto t = tensors_of(teacher), s = tensors_of(student);
  EXPECT_TRUE(at::equal(s["token_embedding.weight"], t["token_embedding.weight"].slice(1, 0, 16)));
  EXPECT_TRUE(at::equal(s["positional_embedding"], t["positional_embedding"].slice(0, 0, 6).slice(1, 0, 16)));
  EXPECT_TRUE(at::equal(s["text_projection"], t["text_projection"].slice(0, 0, 16)));
  EXPECT_TRUE(at::equal(s["transformer.resblocks.1.mlp.c_proj.weight"],
                        t["transformer.resblocks.2.mlp.c_proj.weight"].slice(0, 0, 16).slice(1, 0, 64)));

  auto refused = [&](kd::ClipConfig c, const char* option) {
    kd::ClipModel m = kd::ClipModel::create(c, 5);
    try {
      kd::inherit_from_teacher(m, teacher, /*image=*/false);
      ADD_FAILURE() << option << ": accepted";
    } catch (const kd::Error& e) {
      EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
  };
  kd::ClipConfig wide = sc;
  wide.text.width = 64;
  wide.text.mlp_width = 256;
  refused(wide, "--transformer_width");
  kd::ClipConfig deep = sc;
  deep.text.n_layers = 4;
  refused(deep, "--transformer_layers");
  kd::ClipConfig vocab = sc;
  vocab.text.vocab_size = 49500;
  refused(vocab, "--vocab_size");
  kd::ClipConfig dim = sc;
  dim.embed_dim = 8;
  refused(dim, "--output_dim");
}

}  // namespace
