// Progress reporting on stderr.
#include "common/util/progress.h"

#include <unistd.h>

#include <cstdio>

namespace kd {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[64];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", (long long)(s / 3600), (long long)(s / 60 % 60),
                  (long long)(s % 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", (long long)s);
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit, bool quiet)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::add(int64_t n, const std::string& note) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  if (!note.empty()) note_ = note;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (since >= (tty_ ? 0.25 : 5.0)) {
    last_print_ = now;
    print(false);
  }
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  print(true);
}

void Progress::print(bool final_line) {
  if (quiet_) return;
  const double t = elapsed_seconds();
  const double rate = t > 0 ? done_ / t : 0.0;
  char line[256];
  if (final_line) {
    std::snprintf(line, sizeof line, "%s: %lld %s in %s (%.1f %s/s)", label_.c_str(), (long long)done_,
                  unit_.c_str(), format_duration(t).c_str(), rate, unit_.c_str());
  } else if (total_ > 0) {
    const double eta = rate > 0 ? (total_ - done_) / rate : -1;
    std::snprintf(line, sizeof line, "%s: %lld/%lld %s (%.1f%%), %.1f %s/s, ETA %s", label_.c_str(),
                  (long long)done_, (long long)total_, unit_.c_str(), 100.0 * done_ / total_, rate, unit_.c_str(),
                  format_duration(eta).c_str());
  } else {
    std::snprintf(line, sizeof line, "%s: %lld %s, %.1f %s/s", label_.c_str(), (long long)done_, unit_.c_str(), rate,
                  unit_.c_str());
  }
  const std::string note = note_.empty() ? "" : ", " + note_;
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s%s", line, note.c_str(), final_line ? "\n" : "");
  else
    std::fprintf(stderr, "%s%s\n", line, note.c_str());
  std::fflush(stderr);
}

}  // namespace kd
