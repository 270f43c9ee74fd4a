// Whole-set validation of an image or text student against the teacher's cached val embeddings.
#include "common/distill/student_validation.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <tbb/parallel_for.h>

#include <nlohmann/json.hpp>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/eval/retrieval_metrics.h"
#include "common/image/clip_preprocess.h"
#include "common/image/image_decode.h"
#include "common/util/error.h"

namespace kd {

ValSet read_val_set(const std::filesystem::path& dir) {
  const auto index_file = cache::index_path_for(dir);
  cache::CacheIndex index = cache::read_cache_index(index_file);
  if (index.kind != cache::kKindVal || index.shards.size() != 1)
    throw Error("not a val cache of one shard").file(index_file.string()).key("kind").expected("val")
        .got(index.kind + ", " + std::to_string(index.shards.size()) + " shards");
  cache::ShardReader r(dir / index.shards[0].file);
  ValSet v;
  v.teacher_id = index.teacher_id;
  v.image_root = r.string_attr(cache::kAttrImageRoot);
  v.image_keys = r.read_strings(cache::kImageKeys);
  auto f32 = [](cache::ArrayF32 a) { return at::from_blob(a.data.data(), a.shape, at::kFloat).clone(); };
  auto i32 = [](cache::ArrayI32 a) { return at::from_blob(a.data.data(), a.shape, at::kInt).to(at::kLong); };
  v.image_embeds = f32(r.read_floats(cache::kImageEmbeds, {}, 2));
  v.text_embeds = f32(r.read_floats(cache::kTextEmbeds, {}, 2));
  v.tokens = i32(r.read_int32(cache::kTokens, {}, 2));
  v.text_image = i32(r.read_int32(cache::kTextImage, {}, 1));
  return v;
}

nlohmann::json ValMetrics::to_json() const {
  nlohmann::json j = {{"val_acc", val_acc}, {"mean_cosine", mean_cosine}};
  for (size_t i = 0; i < ks.size(); ++i) {
    j["i2t_r" + std::to_string(ks[i])] = image_to_text[i];
    j["t2i_r" + std::to_string(ks[i])] = text_to_image[i];
  }
  return j;
}

at::Tensor embed_val_images(ClipModel& student, const ValSet& val, const at::Device& device, int64_t batch) {
  const int R = static_cast<int>(student.config.vision.image_size);
  const int64_t N = static_cast<int64_t>(val.image_keys.size());
  std::vector<at::Tensor> out;
  c10::InferenceMode guard;
  for (int64_t b = 0; b < N; b += batch) {
    const int64_t e = std::min(N, b + batch);
    at::Tensor pixels = at::empty({e - b, 3, R, R}, at::kFloat);
    float* dst = pixels.data_ptr<float>();
    tbb::parallel_for(b, e, [&](int64_t i) {
      RgbImage img = decode_image((val.image_root / val.image_keys[i]).string());
      clip_preprocess(img, R, ResizeMode::kExact, dst + (i - b) * 3 * R * R);
    });
    out.push_back(student.visual->forward(pixels.to(device)).embeds.to(at::kCPU, at::kFloat));
  }
  return at::cat(out, 0);
}

at::Tensor embed_val_texts(ClipModel& student, const ValSet& val, const at::Device& device, int64_t batch) {
  std::vector<at::Tensor> out;
  c10::InferenceMode guard;
  const int64_t N = val.tokens.size(0);
  for (int64_t b = 0; b < N; b += batch)
    out.push_back(
        student.text->forward(val.tokens.narrow(0, b, std::min(batch, N - b)).to(device)).embeds.to(at::kCPU, at::kFloat));
  return at::cat(out, 0);
}

ValMetrics validate_student(ClipModel& student, const ValSet& val, const at::Device& device, int64_t batch) {
  ValMetrics m;
  const bool image = student.config.has_vision;
  at::Tensor img = image ? embed_val_images(student, val, device, batch) : val.image_embeds;
  at::Tensor txt = image ? val.text_embeds : embed_val_texts(student, val, device, batch);
  RetrievalRecall r = retrieval_recall(img, txt, val.text_image, m.ks, 256);
  m.image_to_text = r.image_to_text;
  m.text_to_image = r.text_to_image;
  m.mean_cosine = image ? mean_paired_cosine(img, val.image_embeds) : mean_paired_cosine(txt, val.text_embeds);
  m.val_acc = image ? r.image_to_text[0] : r.text_to_image[0];
  return m;
}

}  // namespace kd
