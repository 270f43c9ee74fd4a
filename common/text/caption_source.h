// Caption sources for kd-extract: COCO captions JSON, Conceptual Captions TSV and plain text, read into keyed
// captions plus a list of what was skipped and why (for skipped.tsv).
//
// Formats and keys:
//   COCO  (.json)  {"annotations": [{"id": 1, "image_id": 2, "caption": "..."}, ...]}  key "coco:<id>", image_id kept;
//   CC    (.tsv)   "caption<TAB>url" per line, no header                               key "cc:<line>";
//   lines (other)  one caption per line; a TAB is part of the caption                  key "lines:<line>".
// Line numbers are 1-based; a trailing "\r" (CRLF files) is removed, as is a UTF-8 byte-order mark at the start of
// the file. A final '\n' does not make an extra empty line.
// kAuto picks by extension (.json -> COCO, .tsv -> CC); any other file is COCO when its content starts with '{' and
// mentions "annotations", else lines.
// Skipped, with a reason: empty or whitespace-only captions/lines, CC lines without exactly one TAB, repeated COCO
// annotation ids, captions holding a NUL byte (raw, or "\u0000" in JSON; the reason names the file and the line or
// annotation). Errors (kd::Error naming the file): unreadable file, malformed JSON (nlohmann's message gives line
// and column), JSON without an "annotations" array, an annotation without integer id/image_id or string caption.
// Invalid UTF-8 (lines/CC files; COCO JSON must be valid UTF-8 or it is malformed JSON): the caption is KEPT with its
// bytes unchanged and listed in `invalid_utf8`; the tokenizer then replaces each maximal ill-formed subpart by U+FFFD,
// as Python's bytes.decode('utf-8', 'replace') does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kd {

enum class CaptionFormat { kAuto, kCoco, kCc, kLines };

struct Caption {
  std::string key;        // "coco:<annotation id>", "cc:<line>" or "lines:<line>"; unique within one read
  std::string text;       // the caption as written (bytes unchanged)
  int64_t image_id = -1;  // COCO image_id; -1 for other formats
};

struct CaptionRead {
  CaptionFormat format = CaptionFormat::kAuto;                   // the format actually read
  std::vector<Caption> captions;                                 // in file order
  std::vector<std::pair<std::string, std::string>> skipped;      // key, reason: not in `captions`
  std::vector<std::pair<std::string, std::string>> invalid_utf8; // key, reason: kept in `captions`, reported
};

// "auto", "coco", "cc", "lines" <-> CaptionFormat. parse throws kd::Error on anything else.
const char* caption_format_name(CaptionFormat format);
CaptionFormat parse_caption_format(std::string_view name);

// The format kAuto resolves to for `path` (reads the start of the file only when the extension does not decide).
CaptionFormat detect_caption_format(const std::filesystem::path& path);

// Reads all captions of `path` in `format` (kAuto: detect_caption_format).
CaptionRead read_captions(const std::filesystem::path& path, CaptionFormat format = CaptionFormat::kAuto);

}  // namespace kd
