// Embedding a whole val set with one tower, batch by batch, timing the forward passes: images are decoded from
// the val cache's image root and rendered by the one renderer (CLIP's centre crop at the tower's image size, in the
// val cache's resize mode);
// captions use the cache's tokens.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/clip/text_transformer.h"
#include "common/clip/vision_transformer.h"
#include "common/image/renderer.h"

namespace kd {

struct EmbedOptions {
  int64_t batch = 64;                  // rows per forward
  torch::Device device = torch::kCPU;  // where the tower runs (it must already be there)
  int64_t limit = -1;                  // embed only the first `limit` rows; < 0: all
  std::string progress_label;          // non-empty: progress lines on stderr ("<label>: done/total, rate, ETA")
  ResizeMode resize = ResizeMode::kExact;  // images: render mode, the val cache's (ValCache::resize)
};

struct TowerTiming {
  int64_t rows = 0;              // rows embedded
  int64_t batch = 0;
  std::string device;            // "cpu", "cuda:0"
  int threads = 0;               // LibTorch intra-op threads during the run
  double forward_seconds = 0;    // seconds in the tower's forward + copy of the result to the CPU (one warm-up
                                 // batch excluded)
  double prepare_seconds = 0;    // seconds decoding and rendering images (0 for captions)
  int64_t timed_rows = 0;        // rows in the timed batches (rows minus the warm-up batch, unless it is the only one)
  double rows_per_second() const { return forward_seconds > 0 ? double(timed_rows) / forward_seconds : 0; }
};

struct TowerEmbeddings {
  torch::Tensor embeds;  // [N, D] float32, CPU, projected, not normalised
  TowerTiming timing;
};

// image_root/keys[i] rendered (renderer.h: centre crop, options.resize) at the tower's image size; rendering runs in
// parallel (TBB) per batch. Throws kd::Error naming an image that cannot be read.
TowerEmbeddings embed_val_images(VisionTransformer& tower, const std::filesystem::path& image_root,
                                 const std::vector<std::string>& keys, const EmbedOptions& options);

// The same images, streamed: each batch's embeddings [b, D] float32 (CPU, rows begin..begin+b) go to `consume` and are
// not kept, so memory stays bounded in the number of images. The one place kd-eval renders an image.
using EmbedConsumer = std::function<void(int64_t begin, const torch::Tensor& embeds)>;
TowerTiming embed_images_streamed(VisionTransformer& tower, const std::filesystem::path& image_root,
                                  const std::vector<std::string>& keys, const EmbedOptions& options,
                                  const EmbedConsumer& consume);

// tokens [N, C] integer (C <= the tower's context length).
TowerEmbeddings embed_val_tokens(TextTransformer& tower, const torch::Tensor& tokens, const EmbedOptions& options);

}  // namespace kd
