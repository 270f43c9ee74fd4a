// A progress line on stderr for the demo's long steps: "label done/total rate/s ETA" updated in place with '\r' when
// stderr is a terminal, else one line every few seconds (and at the end). Thread-safe; disabled when !enabled.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace kd::demo {

class ProgressLine {
 public:
  ProgressLine(std::string label, int64_t total, bool enabled, double log_every_s = 5.0)
      : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(2) != 0),
        every_s_(tty_ ? 0.25 : log_every_s), start_(Clock::now()), last_(start_) {}

  // Sets the count done so far; `extra` is appended (e.g. "loss 2.31").
  void update(int64_t done, const std::string& extra = "", bool force = false) {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    if (!force && std::chrono::duration<double>(now - last_).count() < every_s_) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? done / elapsed : 0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    std::fprintf(stderr, "%s%s %lld/%lld  %.1f/s  %.0fs elapsed  ETA %.0fs%s%s%s", tty_ ? "\r" : "", label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), rate, elapsed, eta,
                 extra.empty() ? "" : "  ", extra.c_str(), tty_ ? "\033[K" : "\n");
    std::fflush(stderr);
    printed_ = true;
  }
  // Final line (always printed when enabled), ends the in-place line.
  void finish(int64_t done, const std::string& extra = "") {
    if (!enabled_) return;
    update(done, extra, true);
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  double every_s_;
  Clock::time_point start_, last_;
  std::mutex mutex_;
  bool printed_ = false;
};

}  // namespace kd::demo
