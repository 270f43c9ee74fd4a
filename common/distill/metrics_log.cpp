// MetricsLog: RUN/metrics.jsonl, truncated to the checkpoint's step on resume, mirrored to TensorBoard.
#include "common/distill/metrics_log.h"

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {

MetricsLog::MetricsLog(std::filesystem::path file, bool enabled) : file_(std::move(file)), enabled_(enabled) {}

void MetricsLog::start() {
  if (!enabled_) return;
  write_file_atomic(file_, "");
  events_.emplace(file_.parent_path(), /*resumed=*/false);
}

void MetricsLog::resume(int64_t step) {
  if (!enabled_) return;
  events_.emplace(file_.parent_path(), /*resumed=*/step > 0);
  if (!std::filesystem::exists(file_)) return;
  std::ifstream in(file_);
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t(0)) <= step) kept += line + "\n";
  }
  write_file_atomic(file_, kept);
}

void MetricsLog::write(const nlohmann::json& line) {
  if (!enabled_) return;
  std::ofstream out(file_, std::ios::app);
  out << line.dump() << "\n";
  if (!out) throw Error("cannot append to the metrics log").file(file_.string());
  if (events_) events_->log(line);
}

}  // namespace kd
