// kd-train's loop: distil one student (image or text) from a teacher cache, on one process or many (c10d), with
// whole-set validation, atomic checkpoints and exact resume. The work is TrainSession's (train_session.h); this is
// the few lines that drive it and say what happens on stderr. The teacher never runs here: targets come from caches.
#pragma once

#include <filesystem>
#include <vector>

#include "common/distill/dist_env.h"
#include "common/distill/student_validation.h"
#include "common/distill/train_options.h"

namespace kd {

struct TrainResult {
  std::filesystem::path run_dir;
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;  // loss of the first step run here, mean of the last epoch's steps
  std::vector<ValMetrics> val;           // one per validation, in order (rank 0)
  double data_wait_s = 0;                // seconds the steps waited for their batch (the loader's lag)
};

// Runs or continues (options.resume set and RUN/checkpoints/last.ckpt present) the run RUN = save_dir/model_name
// as rank env.rank of env.world_size. Validation and checkpoints on their own cadences (train_cadence.h). `options`
// from resolve_train_options (or options_for_resume); thread limits are the caller's (the tool's).
TrainResult run_training(const TrainOptions& options, const DistEnv& env);

}  // namespace kd
