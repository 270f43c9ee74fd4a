// Library warnings routed through kd (see library_warnings.h): GLib log handler, captures, summaries.
#include "common/util/library_warnings.h"

#include <fcntl.h>
#include <glib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "common/util/error.h"

namespace kd {

namespace {

thread_local const std::string* t_current_input = nullptr;

// The process-wide side GLib's handlers force on us: the live captures, and the kinds already shown when none was.
struct Router {
  std::mutex mutex;
  std::vector<WarningCapture*> captures;
  std::set<std::string> shown;         // "source\tkind" printed once while no capture lived
  std::set<std::string> domains;       // GLib domains already routed
};

Router& router() {
  static Router r;
  return r;
}

void deliver(const std::string& source, const std::string& message) {
  const std::string input = t_current_input ? *t_current_input : std::string();
  Router& r = router();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.captures.empty()) {
    for (WarningCapture* c : r.captures) c->add(source, message, input);
    return;
  }
  if (!r.shown.insert(source + "\t" + warning_kind(message)).second) return;
  std::fprintf(stderr, "kd: %s warning: %s%s (shown once; more of this kind are not shown)\n", source.c_str(),
               message.c_str(), input.empty() ? "" : (" while reading " + input).c_str());
}

void on_glib_log(const gchar* /*domain*/, GLogLevelFlags /*level*/, const gchar* message, gpointer source) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  deliver(static_cast<const char*>(source), m);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string one_line(std::string s) {  // tabs and newlines would break the log's columns
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return s;
}

}  // namespace

std::string warning_kind(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size();) {
    if (std::isdigit(static_cast<unsigned char>(message[i]))) {
      out.push_back('N');
      while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i]))) ++i;
    } else if (message[i] == '\'' && message.find('\'', i + 1) != std::string::npos) {
      out += "'*'";
      i = message.find('\'', i + 1) + 1;
    } else {
      out.push_back(message[i++]);
    }
  }
  return out;
}

void route_glib_warnings(const char* domain, const char* source) {
  Router& r = router();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.domains.insert(domain).second) return;
  const auto levels = static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE);
  // `source` must outlive the process's use of GLib: callers pass string literals.
  g_log_set_handler(domain, levels, on_glib_log, const_cast<char*>(source));
}

void report_warning(const std::string& source, const std::string& message) { deliver(source, message); }

WarningCapture::WarningCapture() {
  Router& r = router();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.captures.push_back(this);
}

WarningCapture::~WarningCapture() {
  Router& r = router();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.captures.erase(std::remove(r.captures.begin(), r.captures.end(), this), r.captures.end());
}

void WarningCapture::add(const std::string& source, const std::string& message, const std::string& input) {
  const std::string kind = warning_kind(message);
  std::lock_guard<std::mutex> lock(mutex_);
  for (LibraryWarning& w : kinds_) {
    if (w.source == source && w.kind == kind) {
      ++w.count;
      if (w.first_input.empty()) w.first_input = input;
      return;
    }
  }
  kinds_.push_back({source, kind, message, input, 1});
}

std::vector<LibraryWarning> WarningCapture::warnings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kinds_;
}

WarningInputScope::WarningInputScope(const std::string& input) : previous_(t_current_input) {
  t_current_input = &input;
}

WarningInputScope::~WarningInputScope() { t_current_input = previous_; }

std::string describe_warning(const LibraryWarning& w) {
  std::string s = w.source + " warned " + std::to_string(w.count) + (w.count == 1 ? " time: " : " times: ") +
                  w.example;
  if (!w.first_input.empty()) s += " (first while reading " + w.first_input + ")";
  return s;
}

void append_warnings_log(const std::filesystem::path& log, const std::string& who,
                         const std::vector<LibraryWarning>& warnings) {
  if (warnings.empty()) return;
  std::string lines;
  const std::string now = utc_now();
  for (const LibraryWarning& w : warnings) {
    lines += now + "\t" + one_line(who) + "\t" + w.source + "\t" + std::to_string(w.count) + "\t" + one_line(w.kind) +
             "\t" + one_line(w.first_input) + "\t" + one_line(w.example) + "\n";
  }
  // One O_APPEND write of whole lines: workers appending at once do not interleave within a line.
  const int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot append to the run's log").file(log.string()).got(std::strerror(errno));
  const ssize_t n = ::write(fd, lines.data(), lines.size());
  const int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(lines.size())) {
    throw Error("cannot append to the run's log").file(log.string()).got(n < 0 ? std::strerror(saved) : "short write");
  }
}

}  // namespace kd
