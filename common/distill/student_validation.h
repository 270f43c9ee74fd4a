// Validation of a student during training, on the whole val cache (never per batch): the image student's embeddings
// of all val images against the teacher's embeddings of all val captions (I->T, T->I R@1/5/10), and mean cosine to
// the teacher's own embeddings; the text student symmetrically. val_acc = I->T R@1 for an image student, T->I R@1
// for a text student. The val cache and the tower embedding come from common/eval (shared with kd-eval).
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clip/clip_model.h"
#include "common/eval/val_cache.h"

namespace kd {

struct ValMetrics {
  std::vector<int64_t> ks = {1, 5, 10};
  std::vector<double> image_to_text, text_to_image;  // fractions, one per k
  double mean_cosine = 0;                            // student vs teacher, same modality
  double val_acc = 0;
  nlohmann::json to_json() const;
};

ValMetrics validate_student(ClipModel& student, const ValCache& val, const at::Device& device, int64_t batch);

}  // namespace kd
