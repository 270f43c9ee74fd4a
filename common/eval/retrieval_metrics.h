// Zero-shot retrieval metrics: image→text and text→image ranks and Recall@K, and mean paired cosine similarity.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace kd {

// Conventions (all functions below):
// - Embeddings are L2-normalised per row inside (x / max(‖x‖, 1e-12)), so scores are cosine similarities.
//   Computed in float64 if either embedding matrix is float64, otherwise float32; any device.
// - Rank is 0-based and counts only STRICTLY greater scores: rank = #{candidates with score > true score}.
//   Ties therefore resolve in the query's favour (deterministically, independent of order and block size).
// - Image→text: an image's true score is the best score among ITS captions, so it hits at k if ANY of its captions
//   is in its top k. Text→image: a caption's true score is its own image's score.
// - A query hits at k when rank < k; so k ≥ the number of candidates always gives recall 1.
// - Work is done in blocks of `block_rows` query rows. Per block: the float32 score matrix, a boolean "greater"
//   mask, and the int64 widening ATen does to count it, ≈ 13 bytes per score (block_rows · N_candidates · 13).
//   Measured on CPU, Ni = 5 000, Nt = 25 000, D = 512, 2 threads: block 256 → peak +165 MB over the inputs,
//   16.7 s; block 1024 → +409 MB, 17.9 s. Hence the default of 256.

struct RetrievalRanks {
  torch::Tensor image_rank;  // [Ni] int64, CPU: rank of the best own caption among all Nt texts
  torch::Tensor text_rank;   // [Nt] int64, CPU: rank of the own image among all Ni images
};

// image_emb [Ni, D], text_emb [Nt, D] floating point, same device; text_image [Nt] integer: the image row each
// caption belongs to, in [0, Ni). Every image needs at least one caption. Bad input → kd::Error.
RetrievalRanks retrieval_ranks(const torch::Tensor& image_emb, const torch::Tensor& text_emb,
                               const torch::Tensor& text_image, int64_t block_rows = 256);

struct RetrievalRecall {
  std::vector<int64_t> ks;
  std::vector<double> image_to_text;  // fraction of images in [0, 1], one per k
  std::vector<double> text_to_image;  // fraction of captions in [0, 1], one per k
  int64_t n_images = 0, n_texts = 0;
};

// Fraction of ranks < k for each k (k ≥ 1, else kd::Error).
std::vector<double> recall_at_k(const torch::Tensor& ranks, const std::vector<int64_t>& ks);

// retrieval_ranks + recall_at_k for both directions.
RetrievalRecall retrieval_recall(const torch::Tensor& image_emb, const torch::Tensor& text_emb,
                                 const torch::Tensor& text_image, const std::vector<int64_t>& ks,
                                 int64_t block_rows = 256);

// Mean over rows of cos(a_i, b_i); a, b [N, D], N ≥ 1, same shape and device. Summed in float64.
double mean_paired_cosine(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace kd
