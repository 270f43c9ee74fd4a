// Validation of a student during training, on the whole val cache (never per batch): the image student's embeddings
// of all val images against the teacher's embeddings of all val captions (I->T, T->I R@1/5/10), and mean cosine to
// the teacher's own embeddings; the text student symmetrically. val_acc = I->T R@1 for an image student, T->I R@1
// for a text student.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clip/clip_model.h"

namespace kd {

// The val cache's contents (one shard), in memory.
struct ValSet {
  std::filesystem::path image_root;
  std::vector<std::string> image_keys;  // [Ni]
  at::Tensor image_embeds;              // [Ni, D] teacher
  at::Tensor text_embeds;               // [Nt, D] teacher
  at::Tensor tokens;                    // [Nt, 77] int64
  at::Tensor text_image;                // [Nt] int64
  std::string teacher_id;
};
ValSet read_val_set(const std::filesystem::path& val_cache);

struct ValMetrics {
  std::vector<int64_t> ks = {1, 5, 10};
  std::vector<double> image_to_text, text_to_image;  // fractions, one per k
  double mean_cosine = 0;                            // student vs teacher, same modality
  double val_acc = 0;
  nlohmann::json to_json() const;
};

// Embeds the val images (exact centre crop at the student's resolution) or captions with `student` on `device`.
at::Tensor embed_val_images(ClipModel& student, const ValSet& val, const at::Device& device, int64_t batch);
at::Tensor embed_val_texts(ClipModel& student, const ValSet& val, const at::Device& device, int64_t batch);

ValMetrics validate_student(ClipModel& student, const ValSet& val, const at::Device& device, int64_t batch);

}  // namespace kd
