// Writes a synthetic kd cache (text or image) of any size for bench/scale_bench.sh: random float16 embeddings,
// plausible token rows, keys unique across the cache; image keys are symlinks to a few real JPEGs. Not a test.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/cache/shard_writer.h"
#include "common/distill/epoch_plan.h"
#include "common/util/error.h"
#include "common/util/sha256.h"
#include "common/util/splitmix64.h"

namespace {

namespace fs = std::filesystem;
namespace c = kd::cache;

struct Options {
  std::string kind = "text";
  fs::path out;
  int64_t rows = 20000, shard_size = 16384, dim = 512, width = 16, views = 2;
  fs::path jpegs;  // image: folder of real JPEGs the keys link to
  uint64_t seed = 1;
};

// Uniform floats in [-1, 1) from splitmix64.
void fill_floats(std::vector<float>& v, uint64_t& state) {
  for (float& x : v) x = static_cast<float>(static_cast<double>(kd::splitmix64_next(state) >> 11) * 0x1.0p-53 * 2 - 1);
}

int run(const Options& o) {
  fs::create_directories(o.out);
  const bool image = o.kind == "image";
  std::vector<fs::path> sources;
  fs::path image_root = fs::absolute(o.out / "images");
  if (image) {
    for (const auto& e : fs::directory_iterator(o.jpegs))
      if (e.path().extension() == ".jpg") sources.push_back(fs::absolute(e.path()));
    std::sort(sources.begin(), sources.end());
    if (sources.empty()) throw kd::Error("no .jpg files").file(o.jpegs.string());
    fs::create_directories(image_root);
  }
  const std::string teacher = kd::sha256_hex("synthetic teacher");
  c::CacheIndex index;
  index.kind = o.kind;
  index.teacher_id = teacher;
  index.embed_dim = o.dim;
  uint64_t state = o.seed;
  const int64_t V = image ? o.views : 1;
  for (int64_t s = 0, begin = 0; begin < o.rows; ++s, begin += o.shard_size) {
    const int64_t n = std::min(o.shard_size, o.rows - begin);
    c::ShardWriter w(o.out / c::shard_file_name(s));
    w.set_string_attr(c::kAttrFormat, c::kFormatName);
    w.set_int_attr(c::kAttrVersion, c::kFormatVersion);
    w.set_string_attr(c::kAttrKind, o.kind);
    w.set_string_attr(c::kAttrTeacherId, teacher);
    w.set_int_attr(c::kAttrEmbedDim, o.dim);
    w.set_double_attr(c::kAttrLogitScale, 100.0);
    w.set_string_attr(c::kAttrPreprocess, R"({"resolution":224,"resize":"exact"})");
    w.set_int_attr(c::kAttrViews, V);
    std::vector<std::string> keys(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const std::string id = std::to_string(begin + i);
      keys[i] = image ? "img/" + id + ".jpg" : "syn:" + id;
    }
    std::vector<float> embeds(static_cast<size_t>(n * V * o.dim)), features(static_cast<size_t>(n * V * o.width));
    fill_floats(embeds, state);
    fill_floats(features, state);
    w.write_strings(c::kKeys, keys);
    if (image) {
      fs::create_directories(image_root / "img");
      for (int64_t i = 0; i < n; ++i) {
        const fs::path link = image_root / keys[i];
        if (!fs::is_symlink(link)) fs::create_symlink(sources[(begin + i) % sources.size()], link);
      }
      w.set_string_attr(c::kAttrImageRoot, image_root.string());
      w.write_floats(c::kEmbeds, {n, V, o.dim}, embeds, c::FloatStorage::kFloat16);
      w.write_floats(c::kFeatures, {n, V, o.width}, features, c::FloatStorage::kFloat16);
      std::vector<float> params(static_cast<size_t>(n * V * 5));
      for (int64_t i = 0; i < n * V; ++i) {  // a 256 x 256 crop at (8, 8) of a >= 264 x 264 source; odd views flip
        params[i * 5 + 0] = 8, params[i * 5 + 1] = 8, params[i * 5 + 2] = 256, params[i * 5 + 3] = 256;
        params[i * 5 + 4] = static_cast<float>(i % 2);
      }
      w.write_floats(c::kViewParams, {n, V, 5}, params, c::FloatStorage::kFloat32);
    } else {
      std::vector<std::string> captions(static_cast<size_t>(n), "a synthetic caption");
      std::vector<int32_t> tokens(static_cast<size_t>(n * c::kContextLength), 0);
      for (int64_t i = 0; i < n; ++i) {
        int32_t* t = &tokens[i * c::kContextLength];
        const int len = 5 + static_cast<int>(kd::splitmix64_next(state) % 15);
        t[0] = 49406;
        for (int j = 1; j <= len; ++j) t[j] = static_cast<int32_t>(kd::splitmix64_next(state) % 49405);
        t[len + 1] = 49407;
      }
      w.write_strings(c::kCaptions, captions);
      w.write_int32(c::kTokens, {n, c::kContextLength}, tokens);
      w.write_floats(c::kEmbeds, {n, o.dim}, embeds, c::FloatStorage::kFloat16);
      w.write_floats(c::kFeatures, {n, o.width}, features, c::FloatStorage::kFloat16);
    }
    w.write_strings(c::kSkippedKeys, {});
    w.write_strings(c::kSkippedReasons, {});
    w.commit();
    c::ShardInfo info{c::shard_file_name(s), n, 0, "", ""};
    {
      const c::ShardReader r(o.out / info.file);
      info.keys_sha256 = r.string_attr(c::kAttrStringsSha256, c::kKeys);
    }
    info.sha256 = kd::sha256_file_hex(o.out / info.file);
    index.shards.push_back(info);
    std::fprintf(stderr, "\rsynthetic_cache_bench: %lld / %lld rows", static_cast<long long>(begin + n),
                 static_cast<long long>(o.rows));
  }
  c::write_cache_index(c::index_path_for(o.out), index);
  std::fprintf(stderr, "\nsynthetic_cache_bench: %s cache of %lld rows in %s\n", o.kind.c_str(),
               static_cast<long long>(o.rows), o.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("synthetic_cache_bench: write a synthetic kd cache for the scale benchmark (bench/scale_bench.sh)");
  app.add_option("--kind", o.kind, "text or image")->check(CLI::IsMember({"text", "image"}))->capture_default_str();
  app.add_option("--out", o.out, "cache folder")->required();
  app.add_option("--rows", o.rows, "rows")->capture_default_str();
  app.add_option("--shard-size", o.shard_size, "rows per shard")->capture_default_str();
  app.add_option("--dim", o.dim, "embedding width D")->capture_default_str();
  app.add_option("--width", o.width, "feature width W (not read by kd-train)")->capture_default_str();
  app.add_option("--views", o.views, "image: views per row")->capture_default_str();
  app.add_option("--jpegs", o.jpegs, "image: folder of JPEGs (>= 264 x 264) the keys link to");
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "synthetic_cache_bench: %s\n", e.what());
    return 1;
  }
}
