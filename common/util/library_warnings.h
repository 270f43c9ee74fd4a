// Warnings that libraries print on their own (libvips through GLib's log: "VIPS-WARNING **: iCCP: too short"),
// routed through kd instead of straight to stderr, so that a folder of odd PNGs cannot bury a run's output.
// Each warning is reduced to its kind (the message with numbers and quoted names masked) and counted. While a
// WarningCapture lives (kd-extract holds one for its run), warnings go only to the live captures, which report
// one line per kind at the end and write them to the run's log; with none alive, the first warning of each kind
// is printed once per process and the rest only counted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace kd {

struct LibraryWarning {
  std::string source;       // "libvips"
  std::string kind;         // the message with digit runs -> "N" and '...' quoted names -> '*'
  std::string example;      // the first message of this kind, as the library wrote it
  std::string first_input;  // what was being decoded when it first came ("" when unknown)
  int64_t count = 0;
};

// Sends GLib log messages of `domain` (warning and message levels) to kd, naming them `source`. Process-wide
// (GLib's handlers are) and idempotent; called where the library is initialised (ensure_vips_initialized).
void route_glib_warnings(const char* domain, const char* source);

// kd's own warnings about an input (e.g. the renderer's note that Pillow's rules turn an image almost white) take
// the same way as the libraries': to the live captures, else printed once per kind. The input is the calling
// thread's WarningInputScope.
void report_warning(const std::string& source, const std::string& message);

// Collects every routed warning raised anywhere in the process while it lives.
class WarningCapture {
 public:
  WarningCapture();
  ~WarningCapture();
  WarningCapture(const WarningCapture&) = delete;
  WarningCapture& operator=(const WarningCapture&) = delete;

  std::vector<LibraryWarning> warnings() const;  // one per kind, in order of first appearance
  void add(const std::string& source, const std::string& message, const std::string& input);

 private:
  mutable std::mutex mutex_;
  std::vector<LibraryWarning> kinds_;
};

// Names the input the calling thread is working on while it lives (LibraryWarning::first_input).
class WarningInputScope {
 public:
  explicit WarningInputScope(const std::string& input);
  ~WarningInputScope();
  WarningInputScope(const WarningInputScope&) = delete;
  WarningInputScope& operator=(const WarningInputScope&) = delete;

 private:
  const std::string* previous_;
};

// "libvips warned 12 times: iCCP: too short (first while reading a.png)".
std::string describe_warning(const LibraryWarning& w);

// Appends one tab-separated line per kind to `log` (UTC time, `who`, source, count, kind, first input, example).
void append_warnings_log(const std::filesystem::path& log, const std::string& who,
                         const std::vector<LibraryWarning>& warnings);

// The message with digit runs -> "N" and '...' quoted names -> '*' (what two warnings of one kind share).
std::string warning_kind(const std::string& message);

}  // namespace kd
