// A val cache loaded for evaluation: the teacher's embeddings of every val image and caption, the caption tokens,
// which image each caption belongs to, and where the images are. Checked against cache_schema.h on load.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/image/renderer.h"

namespace kd {

struct ValCache {
  std::filesystem::path dir;          // the cache folder
  std::filesystem::path shard;        // DIR/shard-00000.h5
  std::string teacher_id;             // clip_weights_id of the teacher (clip/weights_id.h)
  std::filesystem::path image_root;   // absolute folder the image keys are relative to
  ResizeMode resize = ResizeMode::kExact;  // how the teacher's val images were rendered (preprocess.resize)
  double logit_scale = 0;             // the teacher's multiplier exp(stored log)
  // The evaluation protocol, from index.json's options.val_set (absent in caches of a COCO captions JSON):
  std::string protocol = "coco-captions";  // "coco-captions" (e.g. val2017) | "karpathy"
  std::string dataset, split;         // karpathy: "coco" / "flickr30k", "test"; else ""
  std::string source;                 // karpathy: the split file's name; else ""
  int64_t embed_dim = 0;              // D
  std::vector<std::string> image_keys;  // [Ni] paths relative to image_root
  std::vector<std::string> captions;    // [Nt]
  torch::Tensor image_embeds;         // [Ni, D] float32, teacher, not normalised
  torch::Tensor text_embeds;          // [Nt, D] float32, teacher
  torch::Tensor tokens;               // [Nt, 77] int32
  torch::Tensor text_image;           // [Nt] int64: row of the caption's image in [0, Ni)
  int64_t n_images() const { return static_cast<int64_t>(image_keys.size()); }
  int64_t n_texts() const { return static_cast<int64_t>(captions.size()); }
};

// Reads DIR/index.json (kind must be "val", exactly one shard) and that shard, validating its schema.
// Throws kd::Error naming the file and what is wrong.
ValCache read_val_cache(const std::filesystem::path& dir);

}  // namespace kd
