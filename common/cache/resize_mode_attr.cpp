// Reading the resize mode recorded in a shard's preprocess attribute (resize_mode_attr.h).
#include "common/cache/resize_mode_attr.h"

#include <nlohmann/json.hpp>

#include "common/cache/cache_schema.h"
#include "common/util/error.h"

namespace kd::cache {

ResizeMode read_resize_mode(const ShardReader& reader) {
  return resize_mode_of_preprocess(reader.string_attr(kAttrPreprocess), reader.path().string());
}

ResizeMode resize_mode_of_preprocess(const std::string& pre, const std::string& file) {
  const nlohmann::json j = nlohmann::json::parse(pre, nullptr, /*allow_exceptions=*/false);
  const std::string mode =
      j.is_object() && j.contains("resize") && j["resize"].is_string() ? j["resize"].get<std::string>() : "exact";
  if (mode != "exact" && mode != "fast")
    throw Error("unknown resize mode in the cache's preprocess attribute").file(file)
        .key(std::string(kAttrPreprocess) + ".resize").expected("exact or fast").got(mode);
  return parse_resize_mode(mode);
}

}  // namespace kd::cache
