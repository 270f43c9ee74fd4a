// Distillation losses against hand-computed values on tiny tensors, and DistillLoss's weighting and parsing.
#include "common/distill/distill_loss.h"

#include <gtest/gtest.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/types.h>

#include <cmath>

#include "common/util/error.h"

namespace {

const double kLn2 = std::log(2.0), kLn3 = std::log(3.0);
constexpr double kTol = 1e-6;  // float32 arithmetic on O(1) values

torch::Tensor f32(std::vector<std::vector<double>> rows) {
  const int64_t n = static_cast<int64_t>(rows.size()), d = static_cast<int64_t>(rows[0].size());
  auto out = torch::empty({n, d}, torch::kFloat);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) out[i][j] = rows[i][j];
  return out;
}

double val(const torch::Tensor& x) { return x.item<double>(); }

// Teacher row [2·ln2, 0, 0]: at T=2, softmax(t/T) = softmax([ln2, 0, 0]) = [2, 1, 1]/4 = [1/2, 1/4, 1/4];
//                             at T=1, softmax([2ln2, 0, 0]) = [4, 1, 1]/6 = [2/3, 1/6, 1/6].
// Student row 0 = [0, 0, 0] → q = [1/3, 1/3, 1/3] at any T; student row 1 = teacher row.
torch::Tensor kl_teacher() { return f32({{2 * kLn2, 0, 0}, {2 * kLn2, 0, 0}}); }
torch::Tensor kl_student() { return f32({{0, 0, 0}, {2 * kLn2, 0, 0}}); }

}  // namespace

TEST(DistillLoss, L1HandValue) {
  // |s − t| = [[0,1,2],[2,0,2]], sum 7 over 6 elements → 7/6.
  auto s = f32({{1, 2, 3}, {4, 5, 6}}), t = f32({{1, 1, 1}, {6, 5, 4}});
  EXPECT_NEAR(val(kd::l1_loss(s, t)), 7.0 / 6.0, kTol);
}

TEST(DistillLoss, KlHandValueAndTemperatureScaling) {
  // T=2: row 0 KL = ½ln(½/⅓) + 2·¼ln(¼/⅓) = ½ln(3/2) + ½ln(3/4) = ½ln(9/8); row 1 KL = 0.
  //      batchmean = ¼ln(9/8); times T² = 4 → ln(9/8) = 0.117783.
  EXPECT_NEAR(val(kd::kl_loss(kl_student(), kl_teacher(), 2.0)), std::log(9.0 / 8.0), kTol);
  // T=1: row 0 KL = ⅔ln(2) + 2·⅙ln(½) = ⅓ln2; batchmean = ln2/6 = 0.115525; T² = 1.
  EXPECT_NEAR(val(kd::kl_loss(kl_student(), kl_teacher(), 1.0)), kLn2 / 6.0, kTol);
}

TEST(DistillLoss, CeHandValue) {
  // T=2: row 0 −Σ p·log(⅓) = ln3; row 1 (s = t) = H(p) = ½ln2 + ½·2ln2 = 1.5ln2. Mean = (ln3 + 1.5ln2)/2 = 1.068147.
  EXPECT_NEAR(val(kd::ce_loss(kl_student(), kl_teacher(), 2.0)), (kLn3 + 1.5 * kLn2) / 2.0, kTol);
  // A student equal to the teacher scores exactly H(p) = 1.5ln2 = 1.039721 per row; the uniform student ln3 = 1.098612.
  // (The seed's double softmax squeezed student logits into (0, 1), pinning every row near ln3.)
  EXPECT_NEAR(val(kd::ce_loss(kl_teacher(), kl_teacher(), 2.0)), 1.5 * kLn2, kTol);
  EXPECT_NEAR(val(kd::ce_loss(torch::zeros({2, 3}), kl_teacher(), 2.0)), kLn3, kTol);
}

TEST(DistillLoss, KlEqualsCeMinusTeacherEntropy) {
  // kl = T²·(ce − H(softmax(t/T))), H averaged over rows. Random double data, tolerance 1e-10.
  auto gen = at::detail::createCPUGenerator(7);
  auto s = at::randn({5, 11}, gen, torch::kDouble) * 3, t = at::randn({5, 11}, gen, torch::kDouble) * 3;
  for (double T : {0.5, 1.0, 4.0}) {
    auto p = torch::softmax(t / T, 1);
    double h = val(-(p * torch::log_softmax(t / T, 1)).sum(1).mean());
    double kl = val(kd::kl_loss(s, t, T)), ce = val(kd::ce_loss(s, t, T));
    EXPECT_NEAR(kl, T * T * (ce - h), 1e-10) << "T=" << T;
    EXPECT_GT(kl, 0.0);
  }
}

TEST(DistillLoss, CosAndFdHandValues) {
  // Row 0: s=(1,0,0), t=(0,1,0): cos 0. Row 1: s=(1,1,0), t=(1,0,0): cos 1/√2.
  // cos loss = ((1−0) + (1−1/√2))/2 = 1 − 1/(2√2) = 0.646447.
  // fd: ŝ−t̂ row 0 = (1,−1,0) → 2; row 1 = (1/√2−1, 1/√2, 0) → (1/√2−1)² + ½ = 2 − √2; mean over 6 = (4 − √2)/6.
  auto s = f32({{1, 0, 0}, {1, 1, 0}}), t = f32({{0, 1, 0}, {1, 0, 0}});
  EXPECT_NEAR(val(kd::cos_loss(s, t)), 1.0 - 1.0 / (2.0 * std::sqrt(2.0)), kTol);
  EXPECT_NEAR(val(kd::fd_loss(s, t)), (4.0 - std::sqrt(2.0)) / 6.0, kTol);
  // Both ignore the embeddings' norms; fd = 2·cos/D.
  EXPECT_NEAR(val(kd::fd_loss(s * 5, t * 0.25)), (4.0 - std::sqrt(2.0)) / 6.0, kTol);
  EXPECT_NEAR(val(kd::fd_loss(s, t)), 2.0 * val(kd::cos_loss(s, t)) / 3.0, kTol);
}

TEST(DistillLoss, AffinityHandValue) {
  // bank rows e0, e1 (given unnormalised: normalised inside). scale = ln3.
  // Row 0: t=(1,0) → teacher logits [ln3, 0] → p = [¾, ¼]; s=(0,1) → [0, ln3] → q = [¼, ¾].
  //        KL = ¾ln3 + ¼ln(⅓) = ½ln3. Row 1: s = t → 0. batchmean = ¼ln3 = 0.274653.
  auto bank = f32({{2, 0}, {0, 5}});
  auto t = f32({{1, 0}, {0, 1}}), s = f32({{0, 3}, {0, 1}});
  EXPECT_NEAR(val(kd::affinity_loss(s, t, bank, kLn3)), 0.25 * kLn3, kTol);
}

TEST(DistillLoss, AffinityTopkHandValue) {
  // bank: e0, e1, −e0. scale = ln3.
  // Row 0: teacher logits [ln3, 0] at rows [0, 1] → p = [¾, ¼]; s = (0,1): student logits ln3·[0, 1] → q = [¼, ¾];
  //        KL = ½ln3.
  // Row 1: teacher logits [0, 0] at rows [2, 0] → p = [½, ½]; s = (1,0): ln3·[−1, 1] → ∝ [⅓, 3] → q = [1/10, 9/10];
  //        KL = ½ln(5) + ½ln(5/9) = ln(5/3).
  // batchmean = (½ln3 + ln(5/3))/2 = 0.529066.
  auto bank = f32({{1, 0}, {0, 1}, {-1, 0}});
  auto s = f32({{0, 1}, {1, 0}});
  auto logits = f32({{kLn3, 0}, {0, 0}});
  auto idx = torch::tensor({0, 1, 2, 0}, torch::kLong).view({2, 2});
  EXPECT_NEAR(val(kd::affinity_topk_loss(s, logits, idx, bank, kLn3)), (0.5 * kLn3 + std::log(5.0 / 3.0)) / 2.0, kTol);
  // Out-of-range index is an input error.
  auto bad = torch::tensor({0, 1, 3, 0}, torch::kLong).view({2, 2});
  EXPECT_THROW(kd::affinity_topk_loss(s, logits, bad, bank, kLn3), kd::Error);
}

TEST(DistillLoss, IclHandValue) {
  // t_other = I, s rows (1,0), (1,0); scale ln3 → logits [[ln3, 0], [ln3, 0]].
  // Row 0 target 0: −ln(3/4); row 1 target 1: −ln(1/4). Mean = ½ln(16/3) = 0.836988.
  auto s = f32({{1, 0}, {2, 0}}), t_other = f32({{1, 0}, {0, 1}});
  EXPECT_NEAR(val(kd::icl_loss(s, t_other, kLn3)), 0.5 * std::log(16.0 / 3.0), kTol);
}

TEST(DistillLoss, StableWithLargeLogits) {
  auto s = f32({{1e4, -1e4, 0}, {-1e4, 1e4, 5e3}}), t = f32({{-1e4, 1e4, 0}, {1e4, 0, -1e4}});
  auto bank = f32({{1, 0, 0}, {0, 1, 0}});
  auto idx = torch::tensor({0, 1, 1, 0}, torch::kLong).view({2, 2});
  std::vector<std::pair<const char*, torch::Tensor>> all = {
      {"kl T=1", kd::kl_loss(s, t, 1.0)},         {"ce T=1", kd::ce_loss(s, t, 1.0)},
      {"kl T=4", kd::kl_loss(s, t, 4.0)},         {"l1", kd::l1_loss(s, t)},
      {"cos", kd::cos_loss(s, t)},                {"fd", kd::fd_loss(s, t)},
      {"affinity", kd::affinity_loss(s, t, bank, 1e4)},
      {"affinity_topk", kd::affinity_topk_loss(s, f32({{1e4, -1e4}, {-1e4, 1e4}}), idx, bank, 1e4)},
      {"icl", kd::icl_loss(s, t, 1e4)}};
  for (auto& [name, v] : all) {
    EXPECT_TRUE(std::isfinite(val(v))) << name << " = " << val(v);
    EXPECT_GE(val(v), 0.0) << name;
  }
  // kl at T=1: row 0 teacher puts all mass on d=1, where the student's log-prob is −2e4 → KL ≈ 2e4;
  // row 1 teacher mass on d=0, student log-prob there −2e4 → ≈ 2e4. batchmean ≈ 2e4.
  EXPECT_NEAR(val(kd::kl_loss(s, t, 1.0)), 2e4, 1.0);
}

TEST(DistillLoss, GradientsFlow) {
  // l1 gradient is sign(s − t)/(B·D) exactly: here sign pattern [[+,−],[−,+]] / 4.
  auto s = f32({{1, 0}, {0, 1}}).requires_grad_(true);
  auto t = f32({{0, 1}, {1, 0}});
  kd::l1_loss(s, t).backward();
  auto expect = f32({{0.25, -0.25}, {-0.25, 0.25}});
  EXPECT_LT((s.grad() - expect).abs().max().item<double>(), 1e-7);

  // Every loss through DistillLoss gives a finite, non-zero gradient to the student.
  auto gen = at::detail::createCPUGenerator(3);
  auto st = at::randn({4, 6}, gen, torch::kFloat).requires_grad_(true);
  kd::DistillBatch b;
  b.student = st;
  b.teacher = at::randn({4, 6}, gen, torch::kFloat);
  b.teacher_other = at::randn({4, 6}, gen, torch::kFloat);
  b.bank = at::randn({9, 6}, gen, torch::kFloat);
  b.teacher_topk_logits = at::randn({4, 3}, gen, torch::kFloat);
  b.teacher_topk_indices = torch::tensor({0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 0, 4}, torch::kLong).view({4, 3});
  for (const auto& name : kd::known_loss_names()) {
    st.mutable_grad() = torch::Tensor();
    kd::DistillLoss loss({{name, 1.0, 1.0}}, 2.0, 10.0);
    loss(b).total.backward();
    ASSERT_TRUE(st.grad().defined()) << name;
    EXPECT_TRUE(torch::isfinite(st.grad()).all().item<bool>()) << name;
    EXPECT_GT(st.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(DistillLoss, DtypesFollowInput) {
  auto s = kl_student(), t = kl_teacher();
  // Built in double so 2ln2 is not rounded to float first.
  auto sd = torch::zeros({2, 3}, torch::kDouble), td = torch::zeros({2, 3}, torch::kDouble);
  td.select(1, 0).fill_(2 * kLn2);
  sd[1][0] = 2 * kLn2;
  auto d = kd::kl_loss(sd, td, 2.0);
  EXPECT_EQ(d.scalar_type(), torch::kDouble);
  EXPECT_NEAR(val(d), std::log(9.0 / 8.0), 1e-12);
  // half inputs are computed in float32; the half rounding of 2ln2 limits the tolerance to 1e-3.
  auto h = kd::kl_loss(s.to(torch::kHalf), t.to(torch::kHalf), 2.0);
  EXPECT_EQ(h.scalar_type(), torch::kFloat);
  EXPECT_NEAR(val(h), std::log(9.0 / 8.0), 1e-3);
}

TEST(DistillLoss, CombinesWeightedTermsInOrder) {
  // total = 0.6·1·kl + 0.35·2·l1 + 0.05·1·ce with the hand values above (T=2):
  //   kl = ln(9/8), l1 = mean|s−t| = (2ln2)/6 (only row 0, col 0 differs), ce = (ln3 + 1.5ln2)/2.
  kd::DistillLoss loss(kd::parse_loss_specs({"kl", "l1", "ce"}, {0.6, 0.35, 0.05}, {1, 2, 1}), 2.0, 100.0);
  kd::DistillBatch b;
  b.student = kl_student();
  b.teacher = kl_teacher();
  auto r = loss(b);
  const double kl = std::log(9.0 / 8.0), l1 = 2 * kLn2 / 6.0, ce = (kLn3 + 1.5 * kLn2) / 2.0;
  ASSERT_EQ(r.terms.size(), 3u);
  EXPECT_EQ(r.terms[0].first, "kl");
  EXPECT_EQ(r.terms[1].first, "l1");
  EXPECT_EQ(r.terms[2].first, "ce");
  EXPECT_NEAR(val(r.terms[0].second), kl, kTol);
  EXPECT_NEAR(val(r.terms[1].second), l1, kTol);
  EXPECT_NEAR(val(r.terms[2].second), ce, kTol);
  EXPECT_NEAR(val(r.total), 0.6 * kl + 0.35 * 2 * l1 + 0.05 * ce, kTol);
}

TEST(DistillLoss, DefaultsPairWeightsWithLossesByPosition) {
  auto d = kd::default_loss_specs();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "kl");
  EXPECT_DOUBLE_EQ(d[0].weight, 0.6);
  EXPECT_EQ(d[1].name, "l1");
  EXPECT_DOUBLE_EQ(d[1].weight, 0.35);
  EXPECT_EQ(d[2].name, "ce");
  EXPECT_DOUBLE_EQ(d[2].weight, 0.05);
  EXPECT_DOUBLE_EQ(kd::kDefaultTemperature, 4.0);
  auto p = kd::parse_loss_specs({"ce", "kl"}, {0.1, 0.9}, {});
  EXPECT_EQ(p[0].name, "ce");
  EXPECT_DOUBLE_EQ(p[0].weight, 0.1);
  EXPECT_DOUBLE_EQ(p[0].scale, 1.0);
  EXPECT_DOUBLE_EQ(p[1].weight, 0.9);
}

TEST(DistillLoss, ParsingErrors) {
  try {
    kd::parse_loss_specs({"kl", "mse"}, {1, 1}, {});
    FAIL() << "no error for an unknown loss";
  } catch (const kd::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'mse'"), std::string::npos) << m;
    for (const auto& k : kd::known_loss_names()) EXPECT_NE(m.find(k), std::string::npos) << m;
  }
  EXPECT_THROW(kd::parse_loss_specs({"kl", "l1"}, {1}, {}), kd::Error);
  EXPECT_THROW(kd::parse_loss_specs({"kl", "l1"}, {1, 1}, {1}), kd::Error);
  EXPECT_THROW(kd::parse_loss_specs({"kl", "kl"}, {1, 1}, {}), kd::Error);
  EXPECT_THROW(kd::parse_loss_specs({}, {}, {}), kd::Error);
  EXPECT_THROW(kd::parse_loss_specs({"kl"}, {NAN}, {}), kd::Error);
  EXPECT_THROW(kd::DistillLoss(kd::default_loss_specs(), 0.0, 1.0), kd::Error);
}

TEST(DistillLoss, MissingInputsAndBadShapesAreErrors) {
  kd::DistillBatch b;
  b.student = kl_student();
  b.teacher = kl_teacher();
  try {
    kd::DistillLoss({{"affinity", 1, 1}}, 4.0, 100.0)(b);
    FAIL() << "no error for a missing bank";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bank"), std::string::npos) << e.what();
  }
  EXPECT_THROW(kd::DistillLoss({{"icl", 1, 1}}, 4.0, 100.0)(b), kd::Error);
  EXPECT_THROW(kd::l1_loss(kl_student(), f32({{1, 2}, {3, 4}})), kd::Error);
  EXPECT_THROW(kd::l1_loss(torch::zeros({3}), torch::zeros({3})), kd::Error);
  EXPECT_THROW(kd::kl_loss(kl_student(), kl_teacher(), -1.0), kd::Error);
}
