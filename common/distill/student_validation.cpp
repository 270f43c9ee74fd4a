// Whole-set validation of an image or text student against the teacher's cached val embeddings.
#include "common/distill/student_validation.h"

#include <nlohmann/json.hpp>

#include "common/eval/retrieval_metrics.h"
#include "common/eval/tower_embedding.h"

namespace kd {

nlohmann::json ValMetrics::to_json() const {
  nlohmann::json j = {{"val_acc", val_acc}, {"mean_cosine", mean_cosine}};
  for (size_t i = 0; i < ks.size(); ++i) {
    j["i2t_r" + std::to_string(ks[i])] = image_to_text[i];
    j["t2i_r" + std::to_string(ks[i])] = text_to_image[i];
  }
  return j;
}

ValMetrics validate_student(ClipModel& student, const ValCache& val, const at::Device& device, int64_t batch) {
  ValMetrics m;
  EmbedOptions options;
  options.batch = batch;
  options.device = device;
  options.resize = val.resize;  // render as the teacher's val embeddings were
  const bool image = student.config.has_vision;
  at::Tensor img = image ? embed_val_images(student.visual, val.image_root, val.image_keys, options).embeds
                         : val.image_embeds;
  at::Tensor txt = image ? val.text_embeds : embed_val_tokens(student.text, val.tokens, options).embeds;
  RetrievalRecall r = retrieval_recall(img, txt, val.text_image, m.ks, 256);
  m.image_to_text = r.image_to_text;
  m.text_to_image = r.text_to_image;
  m.mean_cosine = image ? mean_paired_cosine(img, val.image_embeds) : mean_paired_cosine(txt, val.text_embeds);
  m.val_acc = image ? r.image_to_text[0] : r.text_to_image[0];
  return m;
}

}  // namespace kd
