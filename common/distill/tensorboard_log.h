// kd-train's TensorBoard scalars: every metrics.jsonl line mirrored into RUN/events.out.tfevents.* (rank 0 only), in
// the format of common/util/tensorboard_events.h. No LibTorch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/util/tensorboard_events.h"

namespace kd {

// The scalars of one metrics.jsonl line, as (tag, value):
//   a training line {"step", "epoch", "loss", "loss_<term>", "lr", "samples_per_s", ["loss_scale"]}: "train/<key>"
//   for every number except step (booleans such as skipped_step are left out);
//   a validation line {"step", "epoch", "val": {...}}: "val/<key>" for every number in val.
std::vector<std::pair<std::string, double>> tensorboard_scalars(const nlohmann::json& metrics_line);

class TensorBoardLog {
 public:
  // A new run (resumed = false) removes RUN's old event files. A resumed run keeps them, opens a new file (one per
  // process start, as TensorBoard expects) and skips every scalar whose step is <= the last one logged for its tag,
  // so the steps redone after the checkpoint are not logged twice.
  TensorBoardLog(const std::filesystem::path& run_dir, bool resumed);
  // Logs the scalars of one metrics.jsonl line at its "step".
  void log(const nlohmann::json& metrics_line);
  const std::filesystem::path& path() const { return writer_.path(); }

 private:
  std::map<std::string, int64_t> last_;  // tag -> last step already in RUN's event files
  TensorBoardWriter writer_;
};

}  // namespace kd
