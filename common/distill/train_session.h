// One kd-train run as an object: build (student, data, losses, optimiser; or everything back from the run's last
// checkpoint), then step / validate / checkpoint, driven by a loop of a few lines (trainer.cpp, run_training).
// The run position (epoch, batch, step) changes in step() only. docs/training.md draws the picture.
//
// RUN = save_dir/model_name, which belongs to this run (run_folder.h: rank 0 holds RUN/.lock while the session lives;
// a new run refuses a folder holding another run unless options.overwrite). Rank 0 writes RUN/config.json,
// RUN/metrics.jsonl and its TensorBoard events (MetricsLog), RUN/tokenizer/ (text runs: the cache's),
// RUN/checkpoints/{last,best-*}.ckpt and, from finish(), RUN/student.safetensors and RUN/curves.svg.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/distill/dist_env.h"
#include "common/distill/run_checkpoint.h"
#include "common/distill/student_validation.h"
#include "common/distill/train_options.h"
#include "common/distill/training_source.h"

namespace kd {

// What one step did (losses are means over all processes).
struct StepReport {
  int64_t step = 0;         // optimiser steps taken, this one included
  int64_t epoch = 0;        // the epoch this step belongs to (from 0)
  int64_t batch_in_epoch = 0;  // batches of its epoch consumed, this one included (1-based)
  bool epoch_end = false;   // the step consumed the epoch's last batch
  double loss = 0;          // weighted total
  std::vector<std::pair<std::string, double>> terms;  // unweighted, per --loss
  double lr = 0;
  bool skipped = false;     // non-finite gradients: the optimiser did not step (fp16 loss scaling)
  double epoch_mean_loss = 0;  // with epoch_end: the mean total loss of the epoch's steps run by this process
};

class TrainSession {
 public:
  // build: options must come from resolve_train_options. Continues from RUN/checkpoints/last.ckpt when
  // options.resume is set and the file exists; otherwise starts RUN afresh. `source` replaces the cache reader
  // (null: CachedTrainingSource over options.cache).
  TrainSession(const TrainOptions& options, const DistEnv& env, std::unique_ptr<TrainingSource> source = nullptr);
  ~TrainSession();
  TrainSession(const TrainSession&) = delete;
  TrainSession& operator=(const TrainSession&) = delete;

  bool done() const;  // every step of the run (max_epochs, max_steps) taken

  // One optimiser step on the next global batch (the following one is prepared meanwhile). In fp32 / bf16 a
  // non-finite loss is a kd::Error before anything of the step is saved (fp16: the loss scaler skips the step).
  StepReport step();

  // The whole val cache, on rank 0 (the others wait); nullopt without a val cache. Also logged to metrics.jsonl.
  std::optional<ValMetrics> validate();

  // RUN/checkpoints/last.ckpt with the current position (rank 0); with `val`, also best-k by val_acc.
  void checkpoint(const ValMetrics* val);

  // RUN/student.safetensors and RUN/curves.svg titled `title` (rank 0); every rank waits for it.
  void finish(const std::string& title);

  const RunCheckpointState& position() const { return state_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  bool resumed() const { return resumed_; }
  bool is_main() const;
  const std::filesystem::path& run_dir() const { return run_; }
  const std::string& init_summary() const { return init_summary_; }  // --init-from-teacher's report; else empty
  double data_wait_seconds() const { return data_wait_s_; }  // time step() waited for its batch, in all
  int64_t resident_data_bytes() const;                        // rows the data source holds in memory now

 private:
  struct Parts;
  TrainOptions o_;
  std::filesystem::path run_;
  std::unique_ptr<Parts> p_;
  RunCheckpointState state_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, last_step_epoch_ = 0;
  bool resumed_ = false;
  std::string init_summary_;
  double epoch_loss_sum_ = 0, data_wait_s_ = 0;
  int64_t epoch_loss_n_ = 0;
};

}  // namespace kd
