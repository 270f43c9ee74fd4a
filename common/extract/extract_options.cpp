// Option defaults from the seed's data layout, the worker partition from the launcher environment, validation.
#include "common/extract/extract_options.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (*end != '\0') throw Error("environment variable is not an integer").key(name).got(v);
  return x;
}

}  // namespace

std::string to_string(ExtractKind kind) {
  switch (kind) {
    case ExtractKind::kImage: return "image";
    case ExtractKind::kText: return "text";
    case ExtractKind::kVal: return "val";
  }
  return "?";
}

ExtractOptions resolve_extract_options(ExtractOptions o) {
  const std::filesystem::path& d = o.data_dir;
  if (!d.empty()) {
    if (!std::filesystem::is_directory(d)) throw Error("data folder not found").key("--data-dir").got(d.string());
    if (o.kind == ExtractKind::kImage && o.images.empty()) o.images = d / "image";
    if (o.kind == ExtractKind::kVal && o.images.empty()) o.images = d / "COCO" / "val2017";
    if (o.kind == ExtractKind::kText && o.captions.empty()) {
      for (auto p : {d / "COCO" / "annotations" / "captions_train2017.json", d / "CC" / "Train_GCC-training.tsv"})
        if (std::filesystem::exists(p)) o.captions.push_back(p);
      if (o.captions.empty())
        throw Error("no caption files in the data folder").file(d.string())
            .expected("COCO/annotations/captions_train2017.json and/or CC/Train_GCC-training.tsv");
    }
    if (o.kind == ExtractKind::kVal && o.captions.empty())
      o.captions.push_back(d / "COCO" / "annotations" / "captions_val2017.json");
    if (o.out.empty()) o.out = d / "cache" / to_string(o.kind);
  }
  if (!o.dtype) o.dtype = o.kind == ExtractKind::kVal ? cache::FloatStorage::kFloat32 : cache::FloatStorage::kFloat16;
  if (o.num_shards <= 0) {
    o.num_shards = env_int("WORLD_SIZE", env_int("SLURM_NTASKS", 1));
    if (o.shard_index < 0) o.shard_index = env_int("RANK", env_int("SLURM_PROCID", 0));
  }
  if (o.shard_index < 0) o.shard_index = 0;

  if (o.teacher.empty()) throw UsageError(Error("no teacher given").key("--teacher"));
  if (o.out.empty()) throw UsageError(Error("no output folder given").key("--out").hint("or pass --data-dir"));
  if ((o.kind == ExtractKind::kImage || o.kind == ExtractKind::kVal) && o.images.empty())
    throw UsageError(Error("no images given").key("--images").hint("or pass --data-dir"));
  if (o.kind != ExtractKind::kImage && o.captions.empty())
    throw UsageError(Error("no caption files given").key("--captions"));
  if (o.kind == ExtractKind::kVal && o.captions.size() != 1)
    throw UsageError(Error("val takes exactly one COCO captions JSON").key("--captions")
        .got(std::to_string(o.captions.size())));
  auto one_of = [](const std::string& v, std::initializer_list<const char*> allowed, const char* key) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += (list.empty() ? "" : "|") + std::string(a);
    }
    throw UsageError(Error("invalid value").key(key).expected(list).got(v));
  };
  one_of(o.caption_format, {"auto", "coco", "cc", "lines"}, "--format");
  if (o.batch <= 0) throw UsageError(Error("must be positive").key("--batch").got(std::to_string(o.batch)));
  if (o.shard_size <= 0)
    throw UsageError(Error("must be positive").key("--shard-size").got(std::to_string(o.shard_size)));
  if (o.views < 1 || (o.kind != ExtractKind::kImage && o.views != 1))
    throw UsageError(Error("views must be >= 1, and 1 for text and val caches").key("--views")
        .got(std::to_string(o.views)));
  if (!(o.aug_prob >= 0 && o.aug_prob <= 1))
    throw UsageError(Error("must be in [0, 1]").key("--aug-prob").got(std::to_string(o.aug_prob)));
  if (!(o.scale_min > 0 && o.scale_min <= 1))
    throw UsageError(Error("must be in (0, 1]").key("--scale-min").got(std::to_string(o.scale_min)));
  if (o.topk <= 0) throw UsageError(Error("must be positive").key("--topk").got(std::to_string(o.topk)));
  if (o.shard_index >= o.num_shards)
    throw UsageError(Error("worker index out of range").key("--shard-index")
        .expected("< " + std::to_string(o.num_shards)).got(std::to_string(o.shard_index)));
  if (o.threads < 0) throw UsageError(Error("must not be negative").key("--threads").got(std::to_string(o.threads)));
  if (o.precision == Precision::kFp16 && o.device.rfind("cuda", 0) != 0)
    throw UsageError(Error("fp16 teacher compute needs a CUDA device").key("--precision").got("fp16 on " + o.device)
        .hint("use --precision bf16 or fp32 on CPU"));
  return o;
}

nlohmann::json content_options_json(const ExtractOptions& o) {
  // Written with the enums' canonical words, as before they were enums: existing caches' records still match.
  nlohmann::json j = {{"kind", to_string(o.kind)}, {"precision", enum_name(o.precision)},
                      {"dtype", enum_name(o.dtype.value_or(cache::FloatStorage::kFloat16))},
                      {"shard_size", o.shard_size}};
  if (o.kind == ExtractKind::kImage)
    j.update({{"views", o.views}, {"aug_prob", o.aug_prob}, {"scale_min", o.scale_min}, {"seed", o.seed}});
  if (o.kind != ExtractKind::kText) j.update({{"resize", enum_name(o.resize)}, {"max_pixels", o.max_pixels}});
  if (o.kind != ExtractKind::kImage) j["caption_format"] = o.caption_format;
  if (!o.bank.empty()) j["topk"] = o.topk;
  return j;
}

}  // namespace kd
