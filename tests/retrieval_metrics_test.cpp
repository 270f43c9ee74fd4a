// Retrieval ranks and Recall@K on hand-built similarity setups, block-size independence, and a brute-force check.
#include "common/eval/retrieval_metrics.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>

#include "common/util/error.h"
#include "tests/tensor_literal.h"

namespace {

using kd::test::matrix;

std::vector<int64_t> to_vec(const torch::Tensor& x) {
  auto c = x.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Images I0=e0, I1=e1, I2=e2. Captions: T0→I0 = e1 (points at the wrong image), T1→I0 = (3,4,0) (scaled: 0.6 e0 +
// 0.8 e1 after normalisation), T2→I1 = e1 (exactly ties T0), T3→I2 = e0 ·7 (length is irrelevant).
// Score matrix images × texts:
//          T0   T1   T2   T3
//   I0  [  0   0.6   0    1 ]   own T0,T1 → best 0.6; greater: T3        → rank 1
//   I1  [  1   0.8   1    0 ]   own T2 = 1; T0 ties (not counted)         → rank 0
//   I2  [  0    0    0    0 ]   own T3 = 0; all tie                      → rank 0
// Text → image (columns): T0 true I0 = 0 < I1 → 1; T1 true 0.6 < 0.8 → 1; T2 true 1 → 0; T3 true I2 = 0 < I0 → 1
// (I1 ties at 0, not counted).
struct HandSetup {
  torch::Tensor images = matrix({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
  torch::Tensor texts = matrix({{0, 1, 0}, {3, 4, 0}, {0, 1, 0}, {7, 0, 0}});
  torch::Tensor text_image = torch::tensor({0, 0, 1, 2}, torch::kLong);
};

}  // namespace

TEST(RetrievalMetrics, HandBuiltRanksWithTiesAndSeveralCaptions) {
  HandSetup h;
  for (int64_t block : {1, 2, 1024}) {
    auto r = kd::retrieval_ranks(h.images, h.texts, h.text_image, block);
    EXPECT_EQ(to_vec(r.image_rank), (std::vector<int64_t>{1, 0, 0})) << "block " << block;
    EXPECT_EQ(to_vec(r.text_rank), (std::vector<int64_t>{1, 1, 0, 1})) << "block " << block;
  }
}

TEST(RetrievalMetrics, HandBuiltRecallIncludingKBeyondSetSize) {
  HandSetup h;
  auto r = kd::retrieval_recall(h.images, h.texts, h.text_image, {1, 2, 10});
  EXPECT_EQ(r.n_images, 3);
  EXPECT_EQ(r.n_texts, 4);
  // I→T ranks {1,0,0}: R@1 = 2/3, R@2 = 1, R@10 (k > 4 texts) = 1.
  EXPECT_DOUBLE_EQ(r.image_to_text[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.image_to_text[1], 1.0);
  EXPECT_DOUBLE_EQ(r.image_to_text[2], 1.0);
  // T→I ranks {1,1,0,1}: R@1 = 1/4, R@2 = 1, R@10 (k > 3 images) = 1.
  EXPECT_DOUBLE_EQ(r.text_to_image[0], 0.25);
  EXPECT_DOUBLE_EQ(r.text_to_image[1], 1.0);
  EXPECT_DOUBLE_EQ(r.text_to_image[2], 1.0);
}

TEST(RetrievalMetrics, AnyCaptionCountsForImageToText) {
  // With only T0 (score 0) as I0's caption, I0 would rank 2 (T1 0.6, T3 1 above it); T1 is what makes it rank 1.
  HandSetup h;
  auto only_t0 = torch::tensor({0, 1, 1, 2}, torch::kLong);  // T1 now belongs to I1
  auto r = kd::retrieval_ranks(h.images, h.texts, only_t0);
  EXPECT_EQ(to_vec(r.image_rank)[0], 2);
}

namespace {

// Straightforward O(Ni·Nt·D) loops in double on normalised rows: the definition, written out.
void brute_force(const torch::Tensor& images, const torch::Tensor& texts, const std::vector<int64_t>& owner,
                 std::vector<int64_t>& image_rank, std::vector<int64_t>& text_rank) {
  auto I = images.to(torch::kDouble), T = texts.to(torch::kDouble);
  const int64_t Ni = I.size(0), Nt = T.size(0), D = I.size(1);
  std::vector<std::vector<double>> S(Ni, std::vector<double>(Nt));
  auto norm = [D](const torch::Tensor& m, int64_t r) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += m[r][d].item<double>() * m[r][d].item<double>();
    return std::sqrt(s);
  };
  for (int64_t i = 0; i < Ni; ++i)
    for (int64_t t = 0; t < Nt; ++t) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += I[i][d].item<double>() * T[t][d].item<double>();
      S[i][t] = dot / (norm(I, i) * norm(T, t));
    }
  image_rank.assign(Ni, 0);
  for (int64_t i = 0; i < Ni; ++i) {
    double best = -1e300;
    for (int64_t t = 0; t < Nt; ++t)
      if (owner[t] == i) best = std::max(best, S[i][t]);
    for (int64_t t = 0; t < Nt; ++t) image_rank[i] += S[i][t] > best;
  }
  text_rank.assign(Nt, 0);
  for (int64_t t = 0; t < Nt; ++t)
    for (int64_t i = 0; i < Ni; ++i) text_rank[t] += S[i][t] > S[owner[t]][t];
}

}  // namespace

TEST(RetrievalMetrics, MatchesBruteForceOnRandomDataForAnyBlockSize) {
  auto gen = at::detail::createCPUGenerator(11);
  const int64_t Ni = 13, Nt = 40, D = 6;
  auto images = at::randn({Ni, D}, gen, torch::kDouble);
  auto texts = at::randn({Nt, D}, gen, torch::kDouble);
  // Captions 0..12 cover every image once; the rest are assigned at random.
  auto owner_t = torch::cat({torch::arange(Ni, torch::kLong), at::randint(0, Ni, {Nt - Ni}, gen, torch::kLong)});
  auto owner = to_vec(owner_t);
  std::vector<int64_t> want_i, want_t;
  brute_force(images, texts, owner, want_i, want_t);
  for (int64_t block : {1, 7, 1000}) {
    auto r = kd::retrieval_ranks(images, texts, owner_t, block);
    EXPECT_EQ(to_vec(r.image_rank), want_i) << "block " << block;
    EXPECT_EQ(to_vec(r.text_rank), want_t) << "block " << block;
  }
  // Recall from the brute-force ranks, k = 1, 5, 10.
  auto rec = kd::retrieval_recall(images, texts, owner_t, {1, 5, 10}, 3);
  const int64_t ks[3] = {1, 5, 10};
  for (int j = 0; j < 3; ++j) {
    double hi = 0, ht = 0;
    for (auto v : want_i) hi += v < ks[j];
    for (auto v : want_t) ht += v < ks[j];
    EXPECT_DOUBLE_EQ(rec.image_to_text[j], hi / Ni) << "k=" << ks[j];
    EXPECT_DOUBLE_EQ(rec.text_to_image[j], ht / Nt) << "k=" << ks[j];
  }
  // float32 inputs give the same ranks here (no near-ties in this draw).
  auto rf = kd::retrieval_ranks(images.to(torch::kFloat), texts.to(torch::kFloat), owner_t, 5);
  EXPECT_EQ(to_vec(rf.text_rank), want_t);
}

TEST(RetrievalMetrics, MeanPairedCosine) {
  // Rows: (1,0)·(0,2) → 0; (1,1)·(3,3) → 1. Mean 0.5.
  EXPECT_DOUBLE_EQ(kd::mean_paired_cosine(matrix({{1, 0}, {1, 1}}), matrix({{0, 2}, {3, 3}})), 0.5);
  // (1,0)·(−1,0) → −1; (3,4)·(4,3) → 24/25. Mean (−1 + 0.96)/2 = −0.02; float32 tolerance 1e-6.
  EXPECT_NEAR(kd::mean_paired_cosine(matrix({{1, 0}, {3, 4}}), matrix({{-1, 0}, {4, 3}})), -0.02, 1e-6);
  EXPECT_THROW(kd::mean_paired_cosine(matrix({{1, 0}}), matrix({{1, 0}, {0, 1}})), kd::Error);
}

TEST(RetrievalMetrics, InputErrors) {
  HandSetup h;
  EXPECT_THROW(kd::retrieval_ranks(h.images, h.texts, torch::tensor({0, 0, 1, 3}, torch::kLong)), kd::Error);
  EXPECT_THROW(kd::retrieval_ranks(h.images, h.texts, torch::tensor({0, 0, 1}, torch::kLong)), kd::Error);
  EXPECT_THROW(kd::retrieval_ranks(h.images, h.texts, h.text_image.to(torch::kFloat)), kd::Error);
  EXPECT_THROW(kd::retrieval_ranks(h.images, h.texts.slice(1, 0, 2), h.text_image), kd::Error);
  EXPECT_THROW(kd::retrieval_ranks(h.images, h.texts, h.text_image, 0), kd::Error);
  EXPECT_THROW(kd::retrieval_recall(h.images, h.texts, h.text_image, {0}), kd::Error);
  auto nan_texts = h.texts.clone();
  nan_texts[0][0] = NAN;
  EXPECT_THROW(kd::retrieval_ranks(h.images, nan_texts, h.text_image), kd::Error);
  try {
    kd::retrieval_ranks(h.images, h.texts, torch::tensor({0, 0, 1, 1}, torch::kLong));  // image 2 has no caption
    FAIL() << "no error for an image without captions";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 2"), std::string::npos) << e.what();
  }
}
