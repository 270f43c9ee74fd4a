// What kd-train is asked to do: the seed's options (same names and defaults) plus kd's, as a plain struct that is
// written to RUN/config.json and read back by --resume.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clip/clip_config.h"

namespace kd {

struct TrainOptions {
  // --- the seed's options ---
  std::filesystem::path data_dir;        // DATA: caches under DATA/cache/{image,text,val}
  std::string dataset = "image_dataset"; // image_dataset | text_dataset
  std::string model_name = "model_distilled";
  std::filesystem::path save_dir = "runs";  // RUN = save_dir / model_name
  int64_t batch_size = 64;               // global batch (split over processes)
  int num_workers = 4;                   // decode threads
  uint64_t seed = 0;
  double lr = 1e-3;
  double weight_decay = 1e-5;
  std::string lr_scheduler = "step";     // step | cosine
  int64_t lr_decay_steps = 10;           // step: epochs between decays
  double lr_decay_rate = 0.5;
  double lr_decay_min_lr = 1e-5;
  int64_t input_resolution = 224, patch_size = 32, width = 576, layers = 6, heads = 24;
  int64_t context_length = 77, vocab_size = 49408, transformer_width = 128, transformer_layers = 6,
          transformer_heads = 8;
  int64_t output_dim = 512;
  double aug_prob = 0.5;                 // recorded; views and flips come from the image cache
  double t = 4.0;                        // temperature of kl and ce
  std::vector<double> weight = {0.6, 0.35, 0.05};
  std::vector<double> loss_scale = {1, 1, 1};
  std::vector<std::string> loss = {"kl", "l1", "ce"};
  std::vector<std::string> gpus;         // device ids; empty: CPU
  std::string strategy = "auto";         // auto | ddp
  std::string precision = "32";          // 32 | 16 | bf16
  int64_t max_epochs = 100;
  std::filesystem::path resume;          // RUN folder to continue
  // --- kd's ---
  std::filesystem::path cache;           // train cache; default DATA/cache/image or text
  std::filesystem::path val_cache;       // default DATA/cache/val ("" and absent: no validation)
  std::filesystem::path bank;            // other-modality cache for affinity / icl (with cached top-K logits)
  std::filesystem::path teacher;         // only for --init-from-teacher
  bool init_from_teacher = false;
  int64_t warmup_steps = 0;
  double clip_grad_norm = 0;             // 0: off
  int64_t val_every_steps = 0;           // 0: once per epoch
  int64_t checkpoint_every_steps = 0;    // 0: once per epoch (and after validation)
  int save_top_k = 3;
  int64_t max_steps = 0;                 // 0: no limit (stop after max_epochs)
  int threads = 0;                       // intra-op threads per process (0: LibTorch's default)
  std::string device = "cpu";            // resolved from gpus
  bool quiet = false;
  bool overwrite = false;                // a new run may replace the run in its folder (run_folder.h)
};

// Seed-compatible parsing help: "0,1,2" -> {"0","1","2"}; {"0.6","0.35"} stay; used for list options.
std::vector<std::string> split_list(const std::vector<std::string>& values);

// The student's architecture from the options (image: width/layers/heads/patch/resolution; text: transformer_*).
ClipConfig student_config(const TrainOptions& options);
bool is_image_student(const TrainOptions& options);

// Fills cache paths from data_dir, checks values; kd::Error naming the option and the value.
TrainOptions resolve_train_options(TrainOptions options);

nlohmann::json train_options_to_json(const TrainOptions& options);
TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace kd
