// What kd-extract is asked to do: a plain struct described once (visit_fields: the tool's options come from it), plus
// the seed-layout defaults (--data-dir) and the part of it that determines a cache's content (compared on restart).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <optional>
#include <type_traits>

#include <nlohmann/json_fwd.hpp>

#include "common/cache/shard_writer.h"
#include "common/image/renderer.h"
#include "common/util/option_fields.h"
#include "common/util/precision.h"

namespace kd {

enum class ExtractKind { kImage, kText, kVal };
std::string to_string(ExtractKind kind);
// OptionField::scope bits of kd-extract's subcommands.
constexpr unsigned kScopeImage = 1u << 0, kScopeText = 1u << 1, kScopeVal = 1u << 2;
constexpr unsigned scope_of(ExtractKind k) { return 1u << static_cast<unsigned>(k); }

struct ExtractOptions {
  ExtractKind kind = ExtractKind::kImage;
  std::filesystem::path teacher;   // HF folder, OpenAI .pt or .safetensors
  std::filesystem::path vocab;     // BPE vocab (.gz or HF folder); empty: beside the teacher, then none
  std::filesystem::path out;       // cache folder
  std::filesystem::path data_dir;  // seed layout root; fills images/captions/out when they are empty
  std::filesystem::path images;    // folder (flat unless recursive) or a text file of paths
  bool recursive = false;
  std::vector<std::filesystem::path> captions;  // caption files (text: several; val: COCO JSON or Karpathy file)
  std::string caption_format = "auto";          // auto | coco | cc | lines
  std::string split = "test";                   // val from a Karpathy split file: the split to read
  std::string device = "cpu";                   // cpu | cuda | cuda:N
  Precision precision = Precision::kFp32;       // teacher compute (fp16 needs CUDA)
  int64_t batch = 64;
  int threads = 0;                              // 0: TBB on all cores, LibTorch default (OMP_NUM_THREADS); the tool sets them
  std::optional<cache::FloatStorage> dtype;     // stored floats; unset: fp16 train, fp32 val
  int64_t shard_size = 4096;                    // rows per shard
  int views = 1;                                // V: view 0 is the centre crop, 1..V-1 random resized crops
  double aug_prob = 0.5;                        // horizontal flip probability of views >= 1
  double scale_min = 0.5;                       // random resized crop area fraction, lower bound
  uint64_t seed = 0;
  ResizeMode resize = ResizeMode::kExact;
  uint64_t max_pixels = 100'000'000;            // larger images are skipped (0: no limit)
  std::filesystem::path bank;                   // cache of the other modality for top-K teacher logits
  int64_t topk = 32;
  bool strict = false;                          // exit non-zero when anything was skipped
  bool force = false;                           // rebuild even if the folder holds a cache made differently
  bool quiet = false;
  int64_t num_shards = 0;                       // workers; 0: from RANK/WORLD_SIZE or SLURM, else 1
  int64_t shard_index = -1;                     // this worker; -1: from the environment, else 0
};

// The one description of ExtractOptions (option_fields.h); scope: the subcommands that offer an option.
template <class O, class V, std::enable_if_t<std::is_same_v<std::remove_const_t<O>, ExtractOptions>, int> = 0>
void visit_fields(O& o, V&& v) {
  constexpr unsigned images = kScopeImage | kScopeVal;
  v(o.teacher, {"teacher", "teacher: Hugging Face CLIP folder, OpenAI .pt or .safetensors"});
  v(o.vocab, {"vocab", "BPE vocabulary (.txt.gz or folder with vocab.json + merges.txt); default: beside the teacher"});
  v(o.out, {"out", "cache folder (default with --data-dir: DATA/cache/<kind>)"});
  v(o.data_dir, {"data-dir", "seed data layout root; fills --images/--captions/--out"});
  v(o.images, {"images", "image folder, or a text file with one path per line", 0, images});
  v(o.recursive, {"recursive", "descend into sub-folders of --images", 0, kScopeImage});
  v(o.captions, {"captions", "caption files", 0, kScopeText});
  v(o.captions, {"captions", "COCO captions JSON (captions_val2017.json; --images: the image folder) or Karpathy "
                             "split file (dataset_coco.json; --images: the folder its filepath/filename are relative "
                             "to, e.g. DATA/COCO holding val2014/)", 0, kScopeVal});
  v(o.caption_format, {"format", "auto, coco, cc or lines", 0, kScopeText});
  v(o.split, {"split", "split of a Karpathy split file: test, val, train or restval", 0, kScopeVal});
  v(o.device, {"device", "cpu, cuda or cuda:N"});
  v(o.precision, {"precision", "teacher compute precision (fp16 needs CUDA)"});
  v(o.batch, {"batch", "inputs per teacher call"});
  v(o.threads, {"threads", "decode and compute threads (0: TBB decodes on all cores, LibTorch keeps its default, "
                           "OMP_NUM_THREADS)"});
  v(o.dtype, {"dtype", "stored embeddings (default: fp16; fp32 for val)"});
  v(o.shard_size, {"shard-size", "rows per shard"});
  v(o.views, {"views", "views per image", 0, kScopeImage});
  v(o.aug_prob, {"aug-prob", "horizontal flip probability of views 1..V-1", 0, kScopeImage});
  v(o.scale_min, {"scale-min", "smallest crop area fraction of views 1..V-1", 0, kScopeImage});
  v(o.seed, {"seed", "seed of the views (with each image's key and view index)", 0, kScopeImage});
  v(o.resize, {"resize", "exact: PIL-identical bicubic; fast: DCT-scaled JPEG decode, not PIL's", 0, images});
  v(o.max_pixels, {"max-pixels", "skip larger images (0: no limit)", 0, images});
  v(o.bank, {"bank", "cache of the other modality (image: a text cache; text: an image cache): also store the "
                     "teacher's top-K logits against it", 0, kScopeImage | kScopeText});
  v(o.topk, {"topk", "K for --bank", 0, kScopeImage | kScopeText});
  v(o.num_shards, {"num-shards", "number of workers (0: WORLD_SIZE or SLURM_NTASKS, else 1)"});
  v(o.shard_index, {"shard-index", "this worker (-1: RANK or SLURM_PROCID, else 0)"});
  v(o.strict, {"strict", "exit with status 1 when any input was skipped"});
  v(o.force, {"force", "rebuild a cache that was made with other options or another teacher"});
  v(o.quiet, {"quiet", "no progress or summary on stderr"});
}

// Fills empty images/captions/out from data_dir (DATA/image, DATA/COCO/annotations/captions_train2017.json +
// DATA/CC/Train_GCC-training.tsv, DATA/COCO/val2017 + captions_val2017.json, DATA/cache/<kind>), resolves the dtype
// default, the worker from the environment, and validates everything (kd::Error naming the option and the value).
ExtractOptions resolve_extract_options(ExtractOptions options);

// The options that decide what the cache holds (not batch, threads, device, quiet, ...): recorded in index.json and
// DIR/extract.json; a rerun with different ones is refused.
nlohmann::json content_options_json(const ExtractOptions& options);

}  // namespace kd
