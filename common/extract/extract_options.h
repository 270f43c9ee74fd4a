// What kd-extract is asked to do: a plain struct filled by the tool's option parser, plus the seed-layout defaults
// (--data-dir) and the part of it that determines a cache's content (compared on restart).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kd {

enum class ExtractKind { kImage, kText, kVal };
std::string to_string(ExtractKind kind);

struct ExtractOptions {
  ExtractKind kind = ExtractKind::kImage;
  std::filesystem::path teacher;   // HF folder, OpenAI .pt or .safetensors
  std::filesystem::path vocab;     // BPE vocab (.gz or HF folder); empty: beside the teacher, then none
  std::filesystem::path out;       // cache folder
  std::filesystem::path data_dir;  // seed layout root; fills images/captions/out when they are empty
  std::filesystem::path images;    // folder (flat unless recursive) or a text file of paths
  bool recursive = false;
  std::vector<std::filesystem::path> captions;  // caption files (text: several; val: the COCO JSON)
  std::string caption_format = "auto";          // auto | coco | cc | lines
  std::string split = "test";                   // val from a Karpathy split file: the split to read
  std::string device = "cpu";                   // cpu | cuda | cuda:N
  std::string precision = "fp32";               // teacher compute: fp32 | fp16 (CUDA) | bf16
  int64_t batch = 64;
  int threads = 0;                              // 0: TBB on all cores, LibTorch default (OMP_NUM_THREADS)
  std::string dtype;                            // stored floats: fp16 | fp32; empty: fp16 train, fp32 val
  int64_t shard_size = 4096;                    // rows per shard
  int views = 1;                                // V: view 0 is the centre crop, 1..V-1 random resized crops
  double aug_prob = 0.5;                        // horizontal flip probability of views >= 1
  double scale_min = 0.5;                       // random resized crop area fraction, lower bound
  uint64_t seed = 0;
  std::string resize = "exact";                 // exact | fast
  uint64_t max_pixels = 100'000'000;            // larger images are skipped (0: no limit)
  std::filesystem::path bank;                   // cache of the other modality for top-K teacher logits
  int64_t topk = 32;
  bool strict = false;                          // exit non-zero when anything was skipped
  bool force = false;                           // rebuild even if the folder holds a cache made differently
  bool quiet = false;
  int64_t num_shards = 0;                       // workers; 0: from RANK/WORLD_SIZE or SLURM, else 1
  int64_t shard_index = -1;                     // this worker; -1: from the environment, else 0
};

// Fills empty images/captions/out from data_dir (DATA/image, DATA/COCO/annotations/captions_train2017.json +
// DATA/CC/Train_GCC-training.tsv, DATA/COCO/val2017 + captions_val2017.json, DATA/cache/<kind>), resolves the dtype
// default, the worker from the environment, and validates everything (kd::Error naming the option and the value).
ExtractOptions resolve_extract_options(ExtractOptions options);

// The options that decide what the cache holds (not batch, threads, device, quiet, ...): recorded in index.json and
// DIR/extract.json; a rerun with different ones is refused.
nlohmann::json content_options_json(const ExtractOptions& options);

}  // namespace kd
