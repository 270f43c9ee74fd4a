// Reading one split of a Karpathy split file (see karpathy_split.h).
#include "common/text/karpathy_split.h"

#include <set>

#include <nlohmann/json.hpp>

#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {

bool is_karpathy_split(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("images") || !j["images"].is_array() || j["images"].empty()) return false;
  const auto& first = j["images"][0];
  return first.is_object() && first.contains("sentences") && first.contains("split");
}

KarpathySplit karpathy_split_from_json(const nlohmann::json& j, const std::filesystem::path& path,
                                       const std::string& split) {
  const std::string file = path.string();
  if (!j.is_object() || !j.contains("images") || !j["images"].is_array())
    throw Error("not a Karpathy split file: no \"images\" array").file(file)
        .hint("expected dataset_coco.json / dataset_flickr30k.json (images[] with split, filename, sentences)");
  KarpathySplit out;
  out.split = split;
  if (j.contains("dataset") && j["dataset"].is_string()) out.dataset = j["dataset"].get<std::string>();
  std::set<std::string> seen, splits;
  int64_t index = 0;
  for (const auto& im : j["images"]) {
    const std::string where = "images[" + std::to_string(index) + "]";
    if (!im.is_object() || !im.contains("filename") || !im["filename"].is_string() || !im.contains("split") ||
        !im["split"].is_string())
      throw Error("image record without string filename and split").file(file).key(where)
          .got(im.dump().substr(0, 120));
    const std::string s = im["split"].get<std::string>();
    splits.insert(s);
    ++index;
    if (s != split) continue;
    KarpathyImage k;
    const std::string name = im["filename"].get<std::string>();
    const bool has_path = im.contains("filepath") && im["filepath"].is_string() &&
                          !im["filepath"].get<std::string>().empty();
    k.key = has_path ? im["filepath"].get<std::string>() + "/" + name : name;
    k.imgid = im.contains("imgid") && im["imgid"].is_number_integer() ? im["imgid"].get<int64_t>() : index - 1;
    if (!seen.insert(k.key).second) throw Error("image listed twice in one split").file(file).key(where).got(k.key);
    if (!im.contains("sentences") || !im["sentences"].is_array() || im["sentences"].empty())
      throw Error("image record without sentences").file(file).key(where + ".sentences").got(k.key);
    int64_t n = 0;
    for (const auto& s : im["sentences"]) {
      if (!s.is_object() || !s.contains("raw") || !s["raw"].is_string())
        throw Error("sentence without a string \"raw\"").file(file)
            .key(where + ".sentences[" + std::to_string(n) + "]").got(s.dump().substr(0, 120));
      k.caption_keys.push_back(s.contains("sentid") && s["sentid"].is_number_integer()
                                   ? "karpathy:" + std::to_string(s["sentid"].get<int64_t>())
                                   : "karpathy:" + std::to_string(k.imgid) + "." + std::to_string(n));
      k.captions.push_back(s["raw"].get<std::string>());
      ++n;
    }
    out.images.push_back(std::move(k));
  }
  out.images_in_file = index;
  if (out.images.empty()) {
    std::string have;
    for (const auto& s : splits) have += (have.empty() ? "" : ", ") + s;
    throw Error("the split has no image").file(file).key("split").expected("one of: " + have).got(split);
  }
  return out;
}

KarpathySplit read_karpathy_split(const std::filesystem::path& path, const std::string& split) {
  const nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded()) throw Error("malformed JSON").file(path.string());
  return karpathy_split_from_json(j, path, split);
}

}  // namespace kd
