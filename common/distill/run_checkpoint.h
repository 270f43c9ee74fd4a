// A kd-train run checkpoint: one safetensors file holding everything needed to continue training bit-identically
// (weights, AdamW state, loss scaler, schedule, position, RNG states), plus keeping the best k by a metric.
//
// File layout (format "kd-run-checkpoint", version 1), all tensors as saved (dtype and shape of the originals):
//   model.<name>                 every model tensor, under the caller's names (e.g. ClipModel::named_tensors())
//   optim.<name>.exp_avg         AdamW first moment, for each parameter the optimiser has state for
//   optim.<name>.exp_avg_sq      AdamW second moment
//   optim.<name>.max_exp_avg_sq  only with amsgrad
//   optim.<name>.step            I64 scalar, AdamW's per-parameter step count
//   rng.<generator name>         U8 [n], at::Generator::get_state() bytes (e.g. "rng.cpu", "rng.data")
//   __metadata__ "kd_checkpoint": JSON {"format": "kd-run-checkpoint", "version": 1, "epoch", "step",
//       "batch_in_epoch", "samples_seen", "lr_schedule": {...}, "loss_scaler": {"scale", "good_steps",
//       "skipped_steps"}, "optimizer": {"param_groups": [{"n_params", "lr", "betas", "eps", "weight_decay",
//       "amsgrad"}]}, "generators": [names], "model_tensors": [names], "extra": {caller's, e.g. val_acc},
//       "tensors_sha256": hex SHA-256 over every tensor in name order (name NUL dtype SPACE shape NUL bytes), checked
//       by load_run_checkpoint so that a damaged file is refused}
#pragma once

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/distill/loss_scaler.h"

namespace kd {

inline constexpr const char* kRunCheckpointFormat = "kd-run-checkpoint";
inline constexpr int kRunCheckpointVersion = 1;

// The scalar part of a run's state. Whatever the caller needs to find its place again goes here.
struct RunCheckpointState {
  int64_t epoch = 0;            // epochs completed (the epoch to continue in)
  int64_t step = 0;             // optimiser steps taken
  int64_t batch_in_epoch = 0;   // global batches of `epoch` already consumed (data position)
  int64_t samples_seen = 0;     // training samples consumed over the whole run, all ranks together
  nlohmann::json lr_schedule = nlohmann::json::object();  // e.g. the LrScheduleConfig as JSON
  LossScalerState loss_scaler;
  nlohmann::json extra = nlohmann::json::object();        // caller's: val_acc, options, ...
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;
using NamedGenerators = std::vector<std::pair<std::string, at::Generator>>;

// Writes the checkpoint atomically to `path` (parents created). `model` are the tensors to save (they must be the
// optimiser's parameter tensors, not copies, for the optimiser state to find its names); `optimizer` is saved with
// every parameter group's options; `generators` are saved by name. Throws kd::Error naming the file and the key
// (a repeated or empty name, an optimiser parameter not among `model`, a dtype safetensors cannot hold).
void save_run_checkpoint(const std::filesystem::path& path, const NamedTensors& model,
                         const torch::optim::AdamW& optimizer, const NamedGenerators& generators,
                         const RunCheckpointState& state);

// Reads `path` back into existing objects built like the saved ones: copies every model tensor in place (same names,
// shapes and dtypes, no tensor missing or left over), replaces the optimiser's state and group options, sets each
// generator's state, and returns the scalar state. Throws kd::Error naming the file and the key on a wrong format or
// version, a missing/extra/mis-shaped tensor, a different parameter-group layout, a generator that is absent, or
// tensors that do not match the recorded checksum.
RunCheckpointState load_run_checkpoint(const std::filesystem::path& path, const NamedTensors& model,
                                       torch::optim::AdamW& optimizer, const NamedGenerators& generators);

// Only the metadata of a checkpoint (cheap: no tensors copied), checked for format and version.
RunCheckpointState read_run_checkpoint_state(const std::filesystem::path& path);

// Keeps checkpoints_dir/best-step<8 digits>.ckpt for the k checkpoints with the highest extra[metric]: `candidate`
// (a checkpoint whose extra holds `metric` as a number, usually checkpoints/last.ckpt) is copied in atomically when
// it ranks among the best k, and the worse ones beyond k are deleted. Ties keep the earlier step. Returns the kept
// files, best first. k = 0 deletes them all. Throws kd::Error naming the file when a checkpoint lacks the metric.
std::vector<std::filesystem::path> keep_best_k(const std::filesystem::path& checkpoints_dir,
                                               const std::filesystem::path& candidate, int k,
                                               const std::string& metric = "val_acc");

}  // namespace kd
