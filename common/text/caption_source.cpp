// Caption sources (see caption_source.h): COCO captions JSON, Conceptual Captions TSV, plain lines.
#include "common/text/caption_source.h"

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "common/text/unicode_text.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') return false;
  }
  return true;
}

std::string_view strip_bom(std::string_view s) {
  return s.substr(0, 3) == "\xEF\xBB\xBF" ? s.substr(3) : s;
}

// Calls f(line_number, line) for each line (1-based, '\n' split, trailing '\r' removed).
template <typename F>
void for_each_line(std::string_view data, F f) {
  data = strip_bom(data);
  size_t pos = 0, number = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    std::string_view line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(++number, line);
    pos = nl + 1;
  }
}

// A caption cannot hold a NUL byte (cache strings are C strings); the reason names where it is.
std::string nul_reason(const fs::path& path, const std::string& where) {
  return "caption holds a NUL byte (" + path.string() + ", " + where + ")";
}

void note_utf8(CaptionRead& out, const std::string& key, std::string_view text) {
  size_t n = 0;
  text::decode_utf8_replace(text, &n);
  if (n) {
    out.invalid_utf8.emplace_back(key, "invalid UTF-8: " + std::to_string(n) +
                                           " ill-formed sequence(s), tokenized as U+FFFD");
  }
}

CaptionRead read_lines(const fs::path& path, bool cc) {
  CaptionRead out;
  out.format = cc ? CaptionFormat::kCc : CaptionFormat::kLines;
  const std::string data = read_file(path);
  for_each_line(data, [&](size_t number, std::string_view line) {
    const std::string key = (cc ? "cc:" : "lines:") + std::to_string(number);
    std::string_view caption = line;
    if (cc) {
      const size_t tab = line.find('\t');
      if (tab == std::string_view::npos || line.find('\t', tab + 1) != std::string_view::npos) {
        if (is_blank(line)) {
          out.skipped.emplace_back(key, "empty line");
        } else {
          out.skipped.emplace_back(key, tab == std::string_view::npos ? "no TAB: expected caption<TAB>url"
                                                                      : "more than one TAB: expected caption<TAB>url");
        }
        return;
      }
      caption = line.substr(0, tab);
    }
    if (is_blank(caption)) {
      out.skipped.emplace_back(key, line.empty() ? "empty line" : "empty caption");
      return;
    }
    if (caption.find('\0') != std::string_view::npos) {
      out.skipped.emplace_back(key, nul_reason(path, "line " + std::to_string(number)));
      return;
    }
    note_utf8(out, key, caption);
    out.captions.push_back(Caption{key, std::string(caption), -1});
  });
  return out;
}

CaptionRead read_coco(const fs::path& path) {
  CaptionRead out;
  out.format = CaptionFormat::kCoco;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error("malformed JSON").file(path.string()).got(e.what());
  }
  if (!doc.is_object() || !doc.contains("annotations") || !doc["annotations"].is_array()) {
    throw Error("not a COCO captions file: no \"annotations\" array").file(path.string());
  }
  const auto& anns = doc["annotations"];
  std::unordered_set<int64_t> seen;
  out.captions.reserve(anns.size());
  for (size_t i = 0; i < anns.size(); ++i) {
    const auto& a = anns[i];
    const std::string where = "annotations[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("image_id") ||
        !a["image_id"].is_number_integer() || !a.contains("caption") || !a["caption"].is_string()) {
      throw Error("annotation needs integer \"id\", integer \"image_id\" and string \"caption\"")
          .file(path.string()).key(where).got(a.dump().substr(0, 200));
    }
    const int64_t id = a["id"].get<int64_t>();
    const std::string key = "coco:" + std::to_string(id);
    if (!seen.insert(id).second) {
      out.skipped.emplace_back(key, "repeated annotation id (" + where + ")");
      continue;
    }
    std::string caption = a["caption"].get<std::string>();
    if (is_blank(caption)) {
      out.skipped.emplace_back(key, "empty caption");
      continue;
    }
    if (caption.find('\0') != std::string::npos) {  // "\u0000" in the JSON
      out.skipped.emplace_back(key, nul_reason(path, where + ", annotation id " + std::to_string(id)));
      continue;
    }
    out.captions.push_back(Caption{key, std::move(caption), a["image_id"].get<int64_t>()});
  }
  return out;
}

}  // namespace

const char* caption_format_name(CaptionFormat format) {
  switch (format) {
    case CaptionFormat::kAuto: return "auto";
    case CaptionFormat::kCoco: return "coco";
    case CaptionFormat::kCc: return "cc";
    case CaptionFormat::kLines: return "lines";
  }
  return "?";
}

CaptionFormat parse_caption_format(std::string_view name) {
  for (CaptionFormat f : {CaptionFormat::kAuto, CaptionFormat::kCoco, CaptionFormat::kCc, CaptionFormat::kLines}) {
    if (name == caption_format_name(f)) return f;
  }
  throw Error("unknown caption format").expected("auto, coco, cc or lines").got(std::string(name));
}

CaptionFormat detect_caption_format(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".json") return CaptionFormat::kCoco;
  if (ext == ".tsv") return CaptionFormat::kCc;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open caption file").file(path.string());
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  std::string_view h = strip_bom(head);
  const size_t first = h.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && h[first] == '{' && h.find("\"annotations\"") != std::string_view::npos) {
    return CaptionFormat::kCoco;
  }
  return CaptionFormat::kLines;
}

CaptionRead read_captions(const fs::path& path, CaptionFormat format) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("caption file not found").file(path.string());
  if (format == CaptionFormat::kAuto) format = detect_caption_format(path);
  switch (format) {
    case CaptionFormat::kCoco: return read_coco(path);
    case CaptionFormat::kCc: return read_lines(path, true);
    default: return read_lines(path, false);
  }
}

}  // namespace kd
