// Loading a val cache (index.json + its one shard) into tensors for kd-eval.
#include "common/eval/val_cache.h"

#include <set>

#include "common/cache/cache_check.h"
#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/resize_mode_attr.h"
#include "common/cache/shard_reader.h"
#include "common/util/error.h"

namespace kd {

ValCache read_val_cache(const std::filesystem::path& dir) {
  namespace c = kd::cache;
  const std::string index_file = c::index_path_for(dir).string();
  const c::CacheIndex index = c::read_cache_index(c::index_path_for(dir));
  if (index.kind != c::kKindVal)
    throw Error("not a val cache").file(index_file).key("kind").expected("val").got(index.kind)
        .hint("make one with: kd-extract val --teacher T --images DIR --captions JSON --out DIR");
  if (index.shards.size() != 1)
    throw Error("a val cache holds exactly one shard").file(index_file).key("shards").expected("1")
        .got(std::to_string(index.shards.size()));
  ValCache v;
  v.dir = dir;
  v.shard = dir / index.shards[0].file;
  const c::ShardInfo& info = index.shards[0];
  c::OpenedShard opened = c::open_checked_shard(dir, index, info);
  const c::ShardReader& reader = opened.reader;
  const c::CheckedShard& checked = opened.checked;
  const c::ShardCounts counts = checked.counts;
  v.teacher_id = reader.string_attr(c::kAttrTeacherId);
  v.image_root = reader.string_attr("image_root");
  v.resize = c::read_resize_mode(reader);
  if (index.options.is_object() && index.options.contains("val_set")) {
    const nlohmann::json& set = index.options["val_set"];
    auto text = [&](const char* key) {
      if (!set.is_object() || !set.contains(key) || !set[key].is_string())
        throw Error("val_set record without a string " + std::string(key)).file(index_file)
            .key(std::string("options.val_set.") + key).got(set.dump().substr(0, 120));
      return set[key].get<std::string>();
    };
    v.protocol = text("protocol");
    v.dataset = text("dataset");
    v.split = text("split");
    v.source = text("source");
  }
  v.logit_scale = reader.double_attr(c::kAttrLogitScale);
  v.embed_dim = counts.embed_dim;
  v.image_keys = reader.read_strings(c::kImageKeys);
  v.captions = reader.read_strings(c::kCaptions);
  auto to_tensor = [](c::ArrayF32 a) {
    auto t = torch::empty(a.shape, torch::kFloat);
    std::copy(a.data.begin(), a.data.end(), t.data_ptr<float>());
    return t;
  };
  auto to_int = [](c::ArrayI32 a) {
    auto t = torch::empty(a.shape, torch::kInt);
    std::copy(a.data.begin(), a.data.end(), t.data_ptr<int32_t>());
    return t;
  };
  v.image_embeds = to_tensor(reader.read_floats(c::kImageEmbeds, {}, 2));
  v.text_embeds = to_tensor(reader.read_floats(c::kTextEmbeds, {}, 2));
  v.tokens = to_int(reader.read_int32(c::kTokens, {}, 2));
  v.text_image = to_int(reader.read_int32(c::kTextImage, {}, 1)).to(torch::kLong);
  std::vector<std::string> text_keys = reader.read_strings(c::kTextKeys);
  for (const std::vector<std::string>* keys : {&v.image_keys, &text_keys}) {
    std::set<std::string> seen;
    for (const auto& k : *keys)
      if (!seen.insert(k).second)
        throw Error("key listed twice in the val cache").file(v.shard.string())
            .key(keys == &text_keys ? c::kTextKeys : c::kImageKeys).expected("unique keys").got("\"" + k + "\"");
  }
  if (v.image_keys.empty() || v.captions.empty())
    throw Error("val cache is empty").file(v.shard.string()).got(std::to_string(v.image_keys.size()) + " images, " +
                                                                 std::to_string(v.captions.size()) + " captions");
  return v;
}

}  // namespace kd
