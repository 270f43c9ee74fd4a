// Where a run's metrics go: RUN/metrics.jsonl, one JSON object per line (a training step, or a validation with its
// "val" object), and its TensorBoard mirror RUN/events.out.tfevents.* (tensorboard_log.h), written by rank 0 only.
// Every metric passes through write(), the one place to add another sink.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json_fwd.hpp>

#include "common/distill/tensorboard_log.h"

namespace kd {

class MetricsLog {
 public:
  // enabled false (ranks > 0): every call does nothing.
  MetricsLog(std::filesystem::path file, bool enabled);

  // A new run: an empty file, and no old event files.
  void start();
  // A resumed run at optimiser step `step`: keeps the lines up to it (what came later is rewritten by the run);
  // the event files keep theirs and skip the steps logged already.
  void resume(int64_t step);
  // Appends one line; `line` must hold "step".
  void write(const nlohmann::json& line);

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  bool enabled_;
  std::optional<TensorBoardLog> events_;  // after start() or resume()
};

}  // namespace kd
