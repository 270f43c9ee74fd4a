// Zero-shot classification as CLIP defines it: a text tower turns every class's prompts into one classifier row
// (mean of the L2-normalised prompt embeddings, renormalised); an image is classified by cosine to those rows.
// Scored for every image tower × text tower pairing, streaming the images (memory bounded in their number).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/clip/bpe_tokenizer.h"
#include "common/clip/text_transformer.h"
#include "common/clip/vision_transformer.h"
#include "common/eval/tower_embedding.h"
#include "common/eval/zero_shot_dataset.h"

namespace kd {

// [C, D] float32 CPU, rows of unit length: class c's row is normalize(mean_t normalize(embed(template_t(name_c)))).
// Prompts are tokenized at the tower's context length (truncated like clip.tokenize(truncate=True)).
torch::Tensor zero_shot_classifier(TextTransformer& tower, const BpeTokenizer& tokenizer,
                                   const std::vector<std::string>& class_names,
                                   const std::vector<std::string>& templates, const EmbedOptions& options);

// Correct counts, accumulated batch by batch. A class's rank is the number of classes scoring STRICTLY higher than
// the true class (ties go the image's way, as in retrieval_metrics.h); top-k hit = rank < k.
struct TopKCounts {
  int64_t n = 0, top1 = 0, top5 = 0;
  double top1_accuracy() const { return n > 0 ? double(top1) / double(n) : 0; }
  double top5_accuracy() const { return n > 0 ? double(top5) / double(n) : 0; }
};

// image_embeds [B, D] (any scale), classifier [C, D] unit rows, labels [B] int64 in [0, C).
void add_top_k_counts(const torch::Tensor& image_embeds, const torch::Tensor& classifier, const torch::Tensor& labels,
                      TopKCounts& counts);

struct ZeroShotPairing {
  std::string image_tower, text_tower;  // "teacher" | "student"
  TopKCounts counts;
  // accuracy / teacher×teacher accuracy; NaN for the teacher×teacher row and where the teacher scored 0.
  double retention_top1 = 0, retention_top5 = 0;
};

struct ZeroShotResult {
  std::string dir;                         // the folder given
  int64_t n_images = 0, n_classes = 0;
  std::string templates_source;            // the --templates file, or "CLIP's 80 ImageNet templates, built in"
  int64_t n_templates = 0;
  bool class_names_from_file = false;
  std::vector<ZeroShotPairing> pairings;   // teacher×teacher first, then student×teacher, teacher×student, s×s
};

// The towers to pair; a null student is absent. The teacher's towers are required.
struct ZeroShotTowers {
  VisionTransformer* teacher_image = nullptr;
  TextTransformer* teacher_text = nullptr;
  VisionTransformer* student_image = nullptr;
  TextTransformer* student_text = nullptr;
};

// Builds a classifier per text tower, streams the images once per image tower and counts top-1 / top-5 for every
// pairing. `options.progress_label` non-empty: progress lines ("<label> ...") on stderr.
ZeroShotResult run_zero_shot(const ZeroShotDataset& data, const std::vector<std::string>& templates,
                             const BpeTokenizer& tokenizer, const ZeroShotTowers& towers, const EmbedOptions& options);

}  // namespace kd
