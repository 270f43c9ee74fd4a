// TFRecord framing and the few Event/Summary protocol-buffer fields TensorBoard's scalars need (see the header).
#include "common/util/tensorboard_events.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>

#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace fs = std::filesystem;
namespace {

// CRC-32C, reflected polynomial 0x82F63B78, one byte at a time from a 256-entry table.
const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

template <class T>
void put_fixed(std::string& out, T v) {  // little-endian, as protocol buffers and TFRecord store fixed widths
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(reinterpret_cast<const char*>(b), sizeof(T));
}

void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  put_varint(out, static_cast<uint64_t>(field) << 3 | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_varint(e, 1 << 3 | 1);  // wall_time: fixed64 double
  put_fixed(e, wall_time);
  put_varint(e, 2 << 3 | 0);  // step: varint
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

// A minimal protocol-buffer reader over one message.
struct ProtoReader {
  std::string_view data;
  size_t pos = 0;
  bool ok = true;

  bool done() const { return !ok || pos >= data.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= data.size()) break;
      const uint8_t b = static_cast<uint8_t>(data[pos++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::string_view take(size_t n) {
    if (pos + n > data.size()) {
      ok = false;
      return {};
    }
    std::string_view s = data.substr(pos, n);
    pos += n;
    return s;
  }
  // Reads a field of wire type `wire`; fills `bytes` for fixed-width and length-delimited values.
  void skip_or_read(int wire, uint64_t* int_value, std::string_view* bytes) {
    switch (wire) {
      case 0: *int_value = varint(); break;
      case 1: *bytes = take(8); break;
      case 2: *bytes = take(varint()); break;
      case 5: *bytes = take(4); break;
      default: ok = false;
    }
  }
};

template <class T>
T fixed_from(std::string_view b) {
  T v{};
  if (b.size() == sizeof(T)) std::memcpy(&v, b.data(), sizeof(T));
  return v;
}

// The scalars of one Event message.
bool decode_event(std::string_view data, std::vector<ScalarEvent>& out) {
  ProtoReader r{data};
  double wall = 0;
  int64_t step = 0;
  std::vector<std::pair<std::string, float>> values;
  while (!r.done()) {
    const uint64_t key = r.varint();
    uint64_t iv = 0;
    std::string_view bytes;
    r.skip_or_read(static_cast<int>(key & 7), &iv, &bytes);
    const uint64_t field = key >> 3;
    if (field == 1) wall = fixed_from<double>(bytes);
    if (field == 2) step = static_cast<int64_t>(iv);
    if (field == 5) {  // Summary
      ProtoReader s{bytes};
      while (!s.done()) {
        const uint64_t skey = s.varint();
        uint64_t siv = 0;
        std::string_view sbytes;
        s.skip_or_read(static_cast<int>(skey & 7), &siv, &sbytes);
        if ((skey >> 3) != 1) continue;
        ProtoReader v{sbytes};  // Value
        std::string tag;
        float value = 0;
        bool has_value = false;
        while (!v.done()) {
          const uint64_t vkey = v.varint();
          uint64_t viv = 0;
          std::string_view vbytes;
          v.skip_or_read(static_cast<int>(vkey & 7), &viv, &vbytes);
          if ((vkey >> 3) == 1) tag = std::string(vbytes);
          if ((vkey >> 3) == 2 && (vkey & 7) == 5) {
            value = fixed_from<float>(vbytes);
            has_value = true;
          }
        }
        if (!v.ok) return false;
        if (has_value) values.emplace_back(tag, value);
      }
      if (!s.ok) return false;
    }
  }
  if (!r.ok) return false;
  for (auto& [tag, value] : values) out.push_back({tag, step, value, wall});
  return true;
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  const auto& t = crc_table();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = t[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t c = crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const fs::path& dir) {
  fs::create_directories(dir);
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::strcpy(host, "localhost");
  const std::string base = "events.out.tfevents." + std::to_string(static_cast<long long>(std::time(nullptr))) + "." +
                           host + "." + std::to_string(static_cast<long long>(getpid()));
  path_ = dir / base;
  for (int i = 1; fs::exists(path_); ++i) path_ = dir / (base + "." + std::to_string(i));
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw Error("cannot create the TensorBoard event file").file(path_.string());
  std::string first = event_header(static_cast<double>(std::time(nullptr)), 0);
  put_bytes_field(first, 3, "brain.Event:2");
  write_record(first);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::add_scalar(const std::string& tag, float value, int64_t step, double wall_time) {
  std::string v;
  put_bytes_field(v, 1, tag);
  put_varint(v, 2 << 3 | 5);  // simple_value: fixed32 float
  put_fixed(v, value);
  std::string summary;
  put_bytes_field(summary, 1, v);
  std::string event = event_header(wall_time, step);
  put_bytes_field(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::write_record(const std::string& event) {
  std::string rec;
  put_fixed<uint64_t>(rec, event.size());
  put_fixed<uint32_t>(rec, masked_crc32c(rec));
  rec += event;
  put_fixed<uint32_t>(rec, masked_crc32c(event));
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size() || std::fflush(file_) != 0)
    throw Error("cannot write the TensorBoard event file").file(path_.string());
}

std::vector<ScalarEvent> read_tensorboard_scalars(const fs::path& file, bool* complete) {
  const std::string bytes = read_file(file);
  const std::string_view all(bytes);
  std::vector<ScalarEvent> out;
  size_t pos = 0;
  bool whole = true;
  while (pos < all.size()) {
    if (pos + 12 > all.size()) { whole = false; break; }
    const std::string_view len_bytes = all.substr(pos, 8);
    const uint64_t len = fixed_from<uint64_t>(len_bytes);
    if (fixed_from<uint32_t>(all.substr(pos + 8, 4)) != masked_crc32c(len_bytes) || len > all.size() ||
        pos + 12 + len + 4 > all.size()) { whole = false; break; }
    const std::string_view data = all.substr(pos + 12, len);
    if (fixed_from<uint32_t>(all.substr(pos + 12 + len, 4)) != masked_crc32c(data) || !decode_event(data, out)) {
      whole = false;
      break;
    }
    pos += 12 + len + 4;
  }
  if (complete) *complete = whole;
  return out;
}

std::vector<fs::path> tensorboard_event_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().find("tfevents") != std::string::npos)
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::map<std::string, int64_t> last_logged_steps(const fs::path& dir) {
  std::map<std::string, int64_t> last;
  for (const fs::path& f : tensorboard_event_files(dir))
    for (const ScalarEvent& e : read_tensorboard_scalars(f)) {
      auto it = last.find(e.tag);
      if (it == last.end() || e.step > it->second) last[e.tag] = e.step;
    }
  return last;
}

}  // namespace kd
