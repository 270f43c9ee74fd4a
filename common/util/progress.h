// Progress of long work on stderr: "label: done/total unit (pct), rate, ETA". Redrawn in place on a terminal,
// a line every few seconds otherwise (logs), and a summary line at the end. Thread-safe: workers may call add().
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace kd {

class Progress {
 public:
  // quiet: print nothing at all. total 0 means unknown.
  Progress(std::string label, int64_t total, std::string unit, bool quiet);
  // n more items done (skipped ones count too); `note` (e.g. "loss 2.31") is shown after the numbers until replaced.
  void add(int64_t n, const std::string& note = "");
  void finish();         // final line with the elapsed time and the overall rate
  double elapsed_seconds() const;

 private:
  void print(bool final_line);
  std::mutex mutex_;
  std::string label_, unit_, note_;
  int64_t total_ = 0, done_ = 0;
  bool quiet_ = false, tty_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "1h02m03s" / "4m05s" / "7s".
std::string format_duration(double seconds);

}  // namespace kd
