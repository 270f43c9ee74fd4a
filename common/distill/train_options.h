// What kd-train is asked to do: the seed's options (same names and defaults) plus kd's, as a plain struct described
// once (visit_fields): that description gives the command line, RUN/config.json and --resume's reading of it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clip/clip_config.h"
#include "common/distill/lr_schedule.h"
#include "common/util/enum_names.h"
#include "common/util/option_fields.h"
#include "common/util/precision.h"

namespace kd {

// Which tower a run distils (the seed's --dataset).
enum class Dataset { kImage, kText };
inline const std::vector<EnumSpelling<Dataset>>& enum_spellings(Dataset) {
  static const std::vector<EnumSpelling<Dataset>> kNames = {{Dataset::kImage, {"image_dataset", "image"}},
                                                           {Dataset::kText, {"text_dataset", "text"}}};
  return kNames;
}

// How --gpus runs: kDdp spawns one process per device (without a launcher); kAuto (also the seed's "none") one.
enum class Strategy { kAuto, kDdp };
inline const std::vector<EnumSpelling<Strategy>>& enum_spellings(Strategy) {
  static const std::vector<EnumSpelling<Strategy>> kNames = {{Strategy::kAuto, {"auto", "none"}},
                                                            {Strategy::kDdp, {"ddp"}}};
  return kNames;
}

struct TrainOptions {
  // --- the seed's options ---
  std::filesystem::path data_dir;        // DATA: caches under DATA/cache/{image,text,val}
  Dataset dataset = Dataset::kImage;
  std::string model_name;                // empty: the seed's model_image_distilled / model_text_distilled
  std::filesystem::path save_dir = "runs";  // RUN = save_dir / model_name
  int64_t batch_size = 64;               // global batch (split over processes)
  int num_workers = 4;                   // decode threads
  uint64_t seed = 0;
  double lr = 1e-3;
  double weight_decay = 1e-5;
  LrSchedule lr_scheduler = LrSchedule::kStep;
  int64_t lr_decay_steps = 10;           // step: epochs between decays
  double lr_decay_rate = 0.5;
  double lr_decay_min_lr = 1e-5;
  int64_t input_resolution = 224, patch_size = 32, width = 576, layers = 6, heads = 24;
  int64_t context_length = 77, vocab_size = 49408, transformer_width = 128, transformer_layers = 6,
          transformer_heads = 8;
  int64_t output_dim = 512;
  double aug_prob = 0.5;                 // ignored (recorded): views and flips come from the image cache
  double t = 4.0;                        // temperature of kl and ce
  std::vector<std::string> loss = {"kl", "l1", "ce"};  // the only place the default losses are written
  std::vector<double> weight = {0.6, 0.35, 0.05};      // i-th weight <-> i-th loss
  std::vector<double> loss_scale;        // i-th scale <-> i-th loss; empty: 1 for every loss
  std::vector<std::string> gpus;         // device ids; empty: CPU
  Strategy strategy = Strategy::kAuto;
  Precision precision = Precision::kFp32;
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
  int threads = 0;                       // intra-op threads per process (0: LibTorch's default); set by the tool
  bool quiet = false;
  bool overwrite = false;                // a new run may replace the run in its folder (run_folder.h)
};

// The one description of TrainOptions (see option_fields.h). Keys are the seed's flag names.
template <class O, class V, std::enable_if_t<std::is_same_v<std::remove_const_t<O>, TrainOptions>, int> = 0>
void visit_fields(O& o, V&& v) {
  v(o.data_dir, {"data_dir", "seed data folder; caches are read from DATA/cache/{image,text,val}"});
  v(o.dataset, {"dataset", "which student"});
  v(o.model_name, {"model_name", "run name: RUN = save_dir/model_name (default: model_image_distilled or "
                                 "model_text_distilled, after --dataset)"});
  v(o.save_dir, {"save_dir", "where runs are written"});
  v(o.batch_size, {"batch_size", "global batch size"});
  v(o.num_workers, {"num_workers", "decode threads (TBB) preparing the next batch"});
  v(o.seed, {"seed", "seed of initialisation, data order and views"});
  v(o.lr, {"lr", "peak learning rate"});
  v(o.weight_decay, {"weight_decay", "AdamW weight decay (not on biases, norms, embeddings)"});
  v(o.lr_scheduler, {"lr_scheduler", "learning-rate schedule"});
  v(o.lr_decay_steps, {"lr_decay_steps", "step: epochs between decays"});
  v(o.lr_decay_rate, {"lr_decay_rate", "step: factor per decay"});
  v(o.lr_decay_min_lr, {"lr_decay_min_lr", "lower bound of the learning rate"});
  v(o.input_resolution, {"input_resolution", "image student input size"});
  v(o.patch_size, {"patch_size", "image student patch size"});
  v(o.width, {"width", "image student width"});
  v(o.layers, {"layers", "image student layers"});
  v(o.heads, {"heads", "image student heads"});
  v(o.context_length, {"context_length", "text student context"});
  v(o.vocab_size, {"vocab_size", "text student vocabulary"});
  v(o.transformer_width, {"transformer_width", "text student width"});
  v(o.transformer_layers, {"transformer_layers", "text student layers"});
  v(o.transformer_heads, {"transformer_heads", "text student heads"});
  v(o.output_dim, {"output_dim", "embedding width (the teacher's)"});
  v(o.aug_prob, {"aug_prob", "ignored, kept for the seed's command lines (views and their flips come from the "
                             "image cache: kd-extract --aug-prob)"});
  v(o.t, {"t", "temperature of kl and ce"});
  v(o.loss, {"loss", "losses (docs/training.md): l1 kl ce cos fd affinity affinity_topk icl"});
  v(o.weight, {"weight", "loss weights, in --loss order (space or comma separated)"});
  v(o.loss_scale, {"loss_scale", "loss scales, in --loss order (default: 1 for every loss)"});
  v(o.gpus, {"gpus", "CUDA devices, e.g. 0,1,2,3 (without CUDA: CPU processes)"});
  v(o.strategy, {"strategy", "ddp: one process per --gpus device"});
  v(o.precision, {"precision", "fp32; fp16 (autocast + loss scaling, CUDA; bf16 on CPU); bf16 (autocast)"});
  v(o.max_epochs, {"max_epochs", "epochs"});
  v(o.resume, {"resume", "continue the run in this folder from checkpoints/last.ckpt; other options may repeat the "
                         "run's values, and only --max_epochs, --max_steps, --val-every-steps, "
                         "--checkpoint-every-steps, --save-top-k, --threads, --num_workers and --quiet may change",
               kNotSaved});
  v(o.cache, {"cache", "training cache (default DATA/cache/image or DATA/cache/text)"});
  v(o.val_cache, {"val_cache", "val cache (default DATA/cache/val when present)"});
  v(o.bank, {"bank", "cache of the other modality (affinity, affinity_topk, icl)"});
  v(o.teacher, {"teacher", "teacher weights, for --init-from-teacher"});
  v(o.init_from_teacher, {"init_from_teacher", "inherit the teacher's weights: evenly spaced layers, leading "
                                               "widths, heads split consistently (docs/training.md)"});
  v(o.warmup_steps, {"warmup_steps", "linear warmup (cosine)"});
  v(o.clip_grad_norm, {"clip_grad_norm", "gradient clipping (0: off)"});
  v(o.val_every_steps, {"val_every_steps", "validate every N steps (0: every epoch)"});
  v(o.checkpoint_every_steps, {"checkpoint_every_steps", "checkpoint every N steps (0: every epoch)"});
  v(o.save_top_k, {"save_top_k", "best checkpoints kept by val_acc"});
  v(o.max_steps, {"max_steps", "stop after N steps (0: after max_epochs)"});
  v(o.threads, {"threads", "intra-op threads per process (0: LibTorch's default)"});
  v(o.quiet, {"quiet", "no progress on stderr", kNotSaved});
  v(o.overwrite, {"overwrite", "start a new run in a folder that holds one: delete its config, metrics, student and "
                               "checkpoints (without it such a folder is refused)", kNotSaved});
}

// The student's architecture from the options (image: width/layers/heads/patch/resolution; text: transformer_*).
ClipConfig student_config(const TrainOptions& options);
bool is_image_student(const TrainOptions& options);

// Checks the values alone (no files): counts, rates and loss weights; kd::Error naming the option and the value.
void validate_train_options(const TrainOptions& options);

// Fills the run name and cache paths from dataset / data_dir, then validates (validate_train_options, the
// architecture, the caches' presence).
TrainOptions resolve_train_options(TrainOptions options);

// RUN/config.json ("kd_format": "kd-train-config", "kd_version": 1, then every saved field).
nlohmann::json train_options_to_json(const TrainOptions& options);
// Reads it back; the spellings of earlier versions ("precision": "32" | "16" | "bf16", "loss_scale": [1, 1, 1],
// a "device" key) are accepted. kd::Error naming `where` and the key otherwise.
TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace kd
