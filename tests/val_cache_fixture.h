// Test fixture: a small val cache written directly with ShardWriter from the golden tiny teacher over the first
// n coco-mini val2017 images (sorted by name) and all their captions, rendered with the renderer (exact centre crop) and the
// BPE tokenizer — what kd-extract val produces, made without it.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_writer.h"
#include "common/clip/bpe_tokenizer.h"
#include "common/clip/clip_checkpoint.h"
#include "common/clip/weights_id.h"
#include "common/image/renderer.h"
#include "common/text/caption_source.h"

namespace kd::test {

inline std::vector<float> to_floats(const at::Tensor& t) {
  auto c = t.contiguous().to(at::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Writes DIR/shard-00000.h5 + DIR/index.json; returns the number of captions.
inline int64_t write_golden_val_cache(const std::filesystem::path& shared, const std::filesystem::path& dir,
                                      int n_images) {
  namespace fs = std::filesystem;
  namespace c = kd::cache;
  const fs::path teacher_dir = shared / "golden" / "tiny-clip";
  const fs::path image_root = shared / "data" / "coco-mini" / "COCO" / "val2017";
  LoadedClip teacher = load_clip(teacher_dir);
  std::vector<std::string> keys;
  for (const auto& e : fs::directory_iterator(image_root)) keys.push_back(e.path().filename().string());
  std::sort(keys.begin(), keys.end());
  keys.resize(std::min<size_t>(keys.size(), static_cast<size_t>(n_images)));
  const CaptionRead read = read_captions(shared / "data" / "coco-mini" / "COCO" / "annotations" /
                                         "captions_val2017.json");
  std::vector<std::string> text_keys, captions;
  std::vector<int32_t> text_image;
  for (size_t i = 0; i < keys.size(); ++i) {
    const int64_t id = std::stoll(keys[i].substr(0, keys[i].find('.')));
    for (const Caption& cap : read.captions)
      if (cap.image_id == id) {
        text_keys.push_back(cap.key);
        captions.push_back(cap.text);
        text_image.push_back(static_cast<int32_t>(i));
      }
  }
  const BpeTokenizer tok = BpeTokenizer::load(teacher_dir);
  const TokenBatch tokens = tok.tokenize(captions, 77);
  const int64_t ni = static_cast<int64_t>(keys.size()), nt = static_cast<int64_t>(captions.size());
  at::Tensor pixels = at::empty({ni, 3, 224, 224}, at::kFloat);
  for (int64_t i = 0; i < ni; ++i)
    render((image_root / keys[i]).string(), ViewSpec::centre_crop(), ResizeMode::kExact, 224,
           pixels.data_ptr<float>() + i * 3 * 224 * 224);
  at::Tensor tok_t = at::from_blob(const_cast<int32_t*>(tokens.tokens.data()), {nt, 77}, at::kInt).to(at::kLong);
  c10::InferenceMode guard;
  const TowerOutput img = teacher.model.visual->forward(pixels);
  const TowerOutput txt = teacher.model.text->forward(tok_t);
  const int64_t d = teacher.model.config.embed_dim;
  fs::create_directories(dir);
  c::ShardWriter w(dir / c::shard_file_name(0));
  w.set_string_attr(c::kAttrFormat, c::kFormatName);
  w.set_int_attr(c::kAttrVersion, c::kFormatVersion);
  w.set_string_attr(c::kAttrKind, c::kKindVal);
  const std::string teacher_id = clip_weights_id(teacher.model);
  w.set_string_attr(c::kAttrTeacherId, teacher_id);
  w.set_int_attr(c::kAttrEmbedDim, d);
  w.set_double_attr(c::kAttrLogitScale, teacher.model.logit_multiplier());
  w.set_string_attr(c::kAttrPreprocess, R"({"resolution": 224, "resize": "exact", "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]})");
  w.set_int_attr(c::kAttrViews, 1);
  w.set_string_attr("image_root", image_root.string());
  w.write_strings(c::kImageKeys, keys);
  w.write_floats(c::kImageEmbeds, {ni, d}, to_floats(img.embeds), c::FloatStorage::kFloat32);
  w.write_floats(c::kImageFeatures, {ni, img.features.size(1)}, to_floats(img.features), c::FloatStorage::kFloat32);
  w.write_strings(c::kTextKeys, text_keys);
  w.write_strings(c::kCaptions, captions);
  w.write_int32(c::kTokens, {nt, 77}, tokens.tokens);
  w.write_floats(c::kTextEmbeds, {nt, d}, to_floats(txt.embeds), c::FloatStorage::kFloat32);
  w.write_floats(c::kTextFeatures, {nt, txt.features.size(1)}, to_floats(txt.features), c::FloatStorage::kFloat32);
  w.write_int32(c::kTextImage, {nt}, text_image);
  w.commit();
  c::CacheIndex index;
  index.kind = c::kKindVal;
  index.teacher_id = teacher_id;
  index.embed_dim = d;
  index.shards.push_back({c::shard_file_name(0), ni, nt, ""});
  c::write_cache_index(c::index_path_for(dir), index);
  return nt;
}

}  // namespace kd::test
