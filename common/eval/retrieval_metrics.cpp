// Zero-shot retrieval metrics (see retrieval_metrics.h for the ranking conventions).
#include "common/eval/retrieval_metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <string>

#include "common/util/error.h"
#include "common/util/shape_string.h"

namespace kd {
namespace {

void require_embeddings(const torch::Tensor& x, const char* what) {
  if (!x.defined()) throw Error("embeddings missing").key(what);
  if (x.dim() != 2 || x.size(0) == 0 || x.size(1) == 0)
    throw Error("embeddings must be a non-empty matrix").key(what).expected("[N>0, D>0]")
        .got(shape_to_string(x.sizes()));
  if (!at::isFloatingType(x.scalar_type()))
    throw Error("embeddings must be floating point").key(what).got(std::string(c10::toString(x.scalar_type())));
  if (!at::isfinite(x).all().item<bool>()) throw Error("embeddings contain inf or NaN").key(what);
}

c10::ScalarType score_dtype(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.scalar_type() == at::kDouble || b.scalar_type() == at::kDouble) ? at::kDouble : at::kFloat;
}

torch::Tensor normalize_rows(const torch::Tensor& x, c10::ScalarType dt) {
  auto y = x.to(dt);
  return y / y.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

}  // namespace

RetrievalRanks retrieval_ranks(const torch::Tensor& image_emb, const torch::Tensor& text_emb,
                               const torch::Tensor& text_image, int64_t block_rows) {
  require_embeddings(image_emb, "image_emb");
  require_embeddings(text_emb, "text_emb");
  if (image_emb.size(1) != text_emb.size(1))
    throw Error("image and text embeddings differ in width").key("text_emb")
        .expected("[Nt, " + std::to_string(image_emb.size(1)) + "]").got(shape_to_string(text_emb.sizes()));
  if (image_emb.device() != text_emb.device())
    throw Error("image and text embeddings are on different devices").key("text_emb")
        .expected(image_emb.device().str()).got(text_emb.device().str());
  if (block_rows < 1) throw Error("block_rows must be at least 1").key("block_rows").got(std::to_string(block_rows));
  const int64_t Ni = image_emb.size(0), Nt = text_emb.size(0);
  if (!text_image.defined() || text_image.dim() != 1 || text_image.size(0) != Nt)
    throw Error("text_image must give one image index per caption").key("text_image")
        .expected("[" + std::to_string(Nt) + "]")
        .got(text_image.defined() ? shape_to_string(text_image.sizes()) : "nothing");
  if (at::isFloatingType(text_image.scalar_type()) || text_image.scalar_type() == at::kBool)
    throw Error("text_image must be integer").key("text_image").got(std::string(c10::toString(text_image.scalar_type())));

  const auto dev = image_emb.device();
  auto owner = text_image.to(dev, at::kLong);  // [Nt]
  const int64_t lo = owner.min().item<int64_t>(), hi = owner.max().item<int64_t>();
  if (lo < 0 || hi >= Ni)
    throw Error("text_image refers to an image that does not exist").key("text_image")
        .expected("values in [0, " + std::to_string(Ni) + ")")
        .got("[" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  auto captions_per_image = at::bincount(owner, /*weights=*/{}, /*minlength=*/Ni);  // [Ni]
  auto orphans = (captions_per_image == 0).nonzero();
  if (orphans.size(0) > 0)
    throw Error("image has no caption, so image→text recall is undefined").key("text_image")
        .got(std::to_string(orphans.size(0)) + " images without captions, first is image " +
             std::to_string(orphans[0][0].item<int64_t>()))
        .hint("drop those images from the evaluation set");

  const auto dt = score_dtype(image_emb, text_emb);
  auto img = normalize_rows(image_emb, dt);  // [Ni, D]
  auto txt = normalize_rows(text_emb, dt);   // [Nt, D]
  const double neg_inf = -std::numeric_limits<double>::infinity();

  // Image → text, in blocks of images. An image's true score is the best of its captions' entries in the SAME score
  // block (not a separately computed dot product, whose last bits could differ and let a caption outrank itself).
  std::vector<torch::Tensor> image_rank_parts;
  for (int64_t r0 = 0; r0 < Ni; r0 += block_rows) {
    const int64_t r1 = std::min(Ni, r0 + block_rows);
    auto sims = at::matmul(img.slice(0, r0, r1), txt.t());                          // [b, Nt]
    auto rows = at::arange(r0, r1, owner.options()).unsqueeze(1);                  // [b, 1] image index
    auto own = owner.unsqueeze(0) == rows;                                        // [b, Nt] caption of row's image
    auto best = std::get<0>(sims.masked_fill(own.logical_not(), neg_inf).max(1)); // [b]
    image_rank_parts.push_back((sims > best.unsqueeze(1)).sum(1).to(at::kCPU));   // [b] int64
  }
  // Text → image, in blocks of captions.
  std::vector<torch::Tensor> text_rank_parts;
  for (int64_t r0 = 0; r0 < Nt; r0 += block_rows) {
    const int64_t r1 = std::min(Nt, r0 + block_rows);
    auto sims = at::matmul(txt.slice(0, r0, r1), img.t());                   // [b, Ni]
    auto truth = sims.gather(1, owner.slice(0, r0, r1).unsqueeze(1));        // [b, 1]
    text_rank_parts.push_back((sims > truth).sum(1).to(at::kCPU));           // [b] int64
  }
  return {at::cat(image_rank_parts), at::cat(text_rank_parts)};
}

std::vector<double> recall_at_k(const torch::Tensor& ranks, const std::vector<int64_t>& ks) {
  if (!ranks.defined() || ranks.dim() != 1 || ranks.size(0) == 0)
    throw Error("ranks must be a non-empty vector").key("ranks");
  std::vector<double> out;
  for (int64_t k : ks) {
    if (k < 1) throw Error("recall@k needs k >= 1").key("k").got(std::to_string(k));
    const auto hits = (ranks < k).sum().item<int64_t>();
    out.push_back(static_cast<double>(hits) / static_cast<double>(ranks.size(0)));
  }
  return out;
}

RetrievalRecall retrieval_recall(const torch::Tensor& image_emb, const torch::Tensor& text_emb,
                                 const torch::Tensor& text_image, const std::vector<int64_t>& ks,
                                 int64_t block_rows) {
  for (int64_t k : ks)
    if (k < 1) throw Error("recall@k needs k >= 1").key("k").got(std::to_string(k));
  auto ranks = retrieval_ranks(image_emb, text_emb, text_image, block_rows);
  RetrievalRecall r;
  r.ks = ks;
  r.image_to_text = recall_at_k(ranks.image_rank, ks);
  r.text_to_image = recall_at_k(ranks.text_rank, ks);
  r.n_images = image_emb.size(0);
  r.n_texts = text_emb.size(0);
  return r;
}

double mean_paired_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  require_embeddings(a, "a");
  require_embeddings(b, "b");
  if (a.sizes() != b.sizes())
    throw Error("paired embeddings differ in shape").key("b").expected(shape_to_string(a.sizes()))
        .got(shape_to_string(b.sizes()));
  if (a.device() != b.device())
    throw Error("paired embeddings are on different devices").key("b").expected(a.device().str()).got(b.device().str());
  const auto dt = score_dtype(a, b);
  auto cos = (normalize_rows(a, dt) * normalize_rows(b, dt)).sum(1);  // [N]
  return cos.to(at::kDouble).sum().item<double>() / static_cast<double>(a.size(0));
}

}  // namespace kd
