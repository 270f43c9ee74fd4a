// kd-train's loop: distil one student (image or text) from a teacher cache, on one process or many (c10d), with
// whole-set validation, atomic checkpoints and exact resume. The teacher never runs here: targets come from caches.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/distill/dist_env.h"
#include "common/distill/student_validation.h"
#include "common/distill/train_options.h"

namespace kd {

struct TrainResult {
  std::filesystem::path run_dir;
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;  // mean total loss of the first and the last epoch
  std::vector<ValMetrics> val;           // one per validation, in order
};

// Runs or continues (RUN/checkpoints/last.ckpt present and options.resume set) the run RUN = save_dir/model_name
// as rank env.rank of env.world_size. Rank 0 writes RUN/config.json, metrics.jsonl, checkpoints and at the end
// RUN/student.safetensors.
TrainResult run_training(const TrainOptions& options, const DistEnv& env);

// The tool's entry (thread limits are the tool's): --resume RUN reads RUN/config.json; `--gpus a,b --strategy ddp` without a launcher spawns one
// process per entry (re-running this program with `child_args`); under torchrun/SLURM the environment decides.
// Returns the exit status.
int train_main(TrainOptions options, const std::vector<std::string>& child_args);

}  // namespace kd
