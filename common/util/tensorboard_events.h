// TensorBoard event files (what TensorBoard's scalar dashboard reads), written and read without TensorFlow.
//
// File: RUN/events.out.tfevents.<unix seconds>.<hostname>.<pid> (TensorBoard reads every file of a folder whose name
// holds "tfevents", in name order). The file is a sequence of TFRecords:
//   uint64 length (little-endian) | uint32 masked_crc32c(the 8 length bytes) | data[length] | uint32 masked_crc32c(data)
// masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32), c = CRC-32C (Castagnoli) of x.
// Each record's data is a protocol-buffer `Event`:
//   field 1 wall_time double (seconds since 1970), field 2 step int64, field 3 file_version string ("brain.Event:2",
//   first record only), field 5 summary: Summary { repeated field 1 Value { field 1 tag string, field 2
//   simple_value float } }.
// No LibTorch here.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kd {

uint32_t crc32c(std::string_view bytes);
uint32_t masked_crc32c(std::string_view bytes);

struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  float value = 0;
  double wall_time = 0;  // seconds since 1970
};

// Appends scalar events to a new event file in `dir` (created). Each event is flushed to the OS as it is written,
// so a killed process leaves at most a truncated last record, which the readers skip.
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::filesystem::path& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, float value, int64_t step, double wall_time);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Every scalar of one event file, in file order. CRCs are checked: a bad or truncated record ends the read there
// (what a killed writer leaves); `complete` tells whether the whole file was read.
std::vector<ScalarEvent> read_tensorboard_scalars(const std::filesystem::path& file, bool* complete = nullptr);

// The event files of `dir` (names holding "tfevents"), in name order.
std::vector<std::filesystem::path> tensorboard_event_files(const std::filesystem::path& dir);

// tag -> largest step logged in any event file of `dir`.
std::map<std::string, int64_t> last_logged_steps(const std::filesystem::path& dir);

}  // namespace kd
