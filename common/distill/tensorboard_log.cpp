// metrics.jsonl lines -> TensorBoard scalars, without duplicate steps across --resume.
#include "common/distill/tensorboard_log.h"

#include <chrono>

namespace kd {
namespace fs = std::filesystem;
namespace {

// Clears old event files of a new run; returns the folder (so the writer opens after the clearing).
const fs::path& prepared(const fs::path& run_dir, bool resumed) {
  if (!resumed)
    for (const fs::path& f : tensorboard_event_files(run_dir)) fs::remove(f);
  return run_dir;
}

}  // namespace

std::vector<std::pair<std::string, double>> tensorboard_scalars(const nlohmann::json& line) {
  std::vector<std::pair<std::string, double>> out;
  if (!line.is_object()) return out;
  if (line.contains("val") && line["val"].is_object()) {
    for (auto it = line["val"].begin(); it != line["val"].end(); ++it)
      if (it.value().is_number()) out.emplace_back("val/" + it.key(), it.value().get<double>());
    return out;
  }
  for (auto it = line.begin(); it != line.end(); ++it)
    if (it.key() != "step" && it.value().is_number()) out.emplace_back("train/" + it.key(), it.value().get<double>());
  return out;
}

TensorBoardLog::TensorBoardLog(const fs::path& run_dir, bool resumed)
    : last_(resumed ? last_logged_steps(run_dir) : std::map<std::string, int64_t>{}),
      writer_(prepared(run_dir, resumed)) {}

void TensorBoardLog::log(const nlohmann::json& line) {
  const int64_t step = line.value("step", int64_t(0));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& [tag, value] : tensorboard_scalars(line)) {
    auto it = last_.find(tag);
    if (it != last_.end() && step <= it->second) continue;
    writer_.add_scalar(tag, static_cast<float>(value), step, now);
  }
}

}  // namespace kd
