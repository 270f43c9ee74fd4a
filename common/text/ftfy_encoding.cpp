// ftfy's fix_encoding over code points (see ftfy_encoding.h); encodings and classes are data in ftfy_tables.cpp.
#include "common/text/ftfy_encoding.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "common/text/ftfy_badness.h"
#include "common/text/ftfy_tables.h"
#include "common/text/unicode_text.h"

namespace kd::text {

namespace {

using Bytes = std::string;

bool in(unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; }
unsigned char at(const Bytes& s, size_t i) { return static_cast<unsigned char>(s[i]); }

// Code point -> byte for one encoding: the inverse of its table, sorted by code point.
struct EncodeTable {
  std::array<std::pair<char32_t, unsigned char>, 256> entries;
};

const EncodeTable& encode_table(size_t e) {
  static const std::array<EncodeTable, kFtfyEncodingCount> tables = [] {
    std::array<EncodeTable, kFtfyEncodingCount> t{};
    for (size_t k = 0; k < kFtfyEncodingCount; ++k) {
      for (int b = 0; b < 256; ++b) {
        t[k].entries[b] = {kFtfyEncodings[k].decode(static_cast<unsigned char>(b)), static_cast<unsigned char>(b)};
      }
      std::sort(t[k].entries.begin(), t[k].entries.end());
    }
    return t;
  }();
  return tables[e];
}

// text.encode(encoding), or nullopt when a character has no byte (ftfy's possible_encoding is false).
std::optional<Bytes> encode(std::u32string_view text, size_t e) {
  const auto& entries = encode_table(e).entries;
  const unsigned char sub = kFtfyEncodings[e].sloppy ? 0x1A : 0xFF;  // a sloppy table has no U+001A
  Bytes out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80 && c != sub) { out.push_back(static_cast<char>(c)); continue; }
    const auto it = std::lower_bound(entries.begin(), entries.end(), std::make_pair(c, static_cast<unsigned char>(0)));
    if (it == entries.end() || it->first != c) return std::nullopt;
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

// A space (20) inside what would be a UTF-8 sequence if it were A0, for these lead bytes:
//   C2 C3 C5 CE D0 D9 + 20;   E2|E3 + 20 + cont';   E0..E3 + cont' + 20;   F0 with one of its three continuation
//   bytes a 20. cont' = 80..BF without 85 and A0. Returns the match length at `i` (first form that matches), or 0.
size_t altered_utf8_at(const Bytes& s, size_t i) {
  const size_t n = s.size();
  auto cont_ = [&](size_t k) { return k < n && in(at(s, k), 0x80, 0xBF) && at(s, k) != 0x85 && at(s, k) != 0xA0; };
  auto cont = [&](size_t k) { return k < n && in(at(s, k), 0x80, 0xBF); };
  auto space = [&](size_t k) { return k < n && at(s, k) == 0x20; };
  const unsigned char b = at(s, i);
  if ((b == 0xC2 || b == 0xC3 || b == 0xC5 || b == 0xCE || b == 0xD0 || b == 0xD9) && space(i + 1)) return 2;
  if ((b == 0xE2 || b == 0xE3) && space(i + 1) && cont_(i + 2)) return 3;
  if (in(b, 0xE0, 0xE3) && cont_(i + 1) && space(i + 2)) return 3;
  if (b == 0xF0) {
    if (space(i + 1) && cont(i + 2) && cont(i + 3)) return 4;
    if (cont(i + 1) && space(i + 2) && cont(i + 3)) return 4;
    if (cont(i + 1) && cont(i + 2) && space(i + 3)) return 4;
  }
  return 0;
}

bool has_altered_utf8(const Bytes& s) {
  for (size_t i = 0; i < s.size(); ++i) if (altered_utf8_at(s, i)) return true;
  return false;
}

bool starts_with_at(const Bytes& s, size_t i, std::string_view w) { return s.compare(i, w.size(), w) == 0; }

// ftfy.fixes.restore_byte_a0. First "Ã " as a word of its own ("Ã la") keeps its space: C3 20 -> C3 A0 20, unless
// followed by a space or by "quele", "quela", "quilo", "s " (Portuguese "àquele", "às"); then every altered
// sequence above gets its spaces back as A0.
Bytes restore_byte_a0(const Bytes& in_bytes) {
  Bytes s;
  s.reserve(in_bytes.size() + 8);
  for (size_t i = 0; i < in_bytes.size(); ++i) {
    if (at(in_bytes, i) == 0xC3 && i + 1 < in_bytes.size() && at(in_bytes, i + 1) == 0x20) {
      const size_t k = i + 2;
      const bool keep = starts_with_at(in_bytes, k, " ") || starts_with_at(in_bytes, k, "quele") ||
                        starts_with_at(in_bytes, k, "quela") || starts_with_at(in_bytes, k, "quilo") ||
                        starts_with_at(in_bytes, k, "s ");
      if (!keep) {
        s += "\xC3\xA0 ";
        ++i;
        continue;
      }
    }
    s.push_back(in_bytes[i]);
  }
  Bytes out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = altered_utf8_at(s, i);
    if (!len) { out.push_back(s[i++]); continue; }
    for (size_t k = i; k < i + len; ++k) out.push_back(at(s, k) == 0x20 ? '\xA0' : s[k]);
    i += len;
  }
  return out;
}

// Length of a UTF-8 (or CESU-8) sequence at `i` in which bytes were lost to 1A (U+FFFD in a sloppy encoding) or,
// once per sequence, '?' (3F); 0 when none starts there. Forms tried in ftfy's order; a lone 1A counts too.
size_t lossy_utf8_at(const Bytes& s, size_t i) {
  const size_t n = s.size();
  auto is = [&](size_t k, auto pred) { return k < n && pred(at(s, k)); };
  auto lost = [](unsigned char b) { return b == 0x1A; };
  auto lost_or_q = [](unsigned char b) { return b == 0x1A || b == '?'; };
  auto lost_or_cont = [](unsigned char b) { return b == 0x1A || in(b, 0x80, 0xBF); };
  auto any_cont = [](unsigned char b) { return b == 0x1A || b == '?' || in(b, 0x80, 0xBF); };
  const unsigned char b = at(s, i);
  if (in(b, 0xC2, 0xDF) && is(i + 1, lost)) return 2;
  if (in(b, 0xC2, 0xC3) && is(i + 1, [](unsigned char c) { return c == '?'; })) return 2;
  if (b == 0xED && is(i + 1, [](unsigned char c) { return in(c, 0xA0, 0xAF); }) && is(i + 3, [](unsigned char c) {
        return c == 0xED;
      }) && is(i + 4, [](unsigned char c) { return in(c, 0xB0, 0xBF); })) {
    if (is(i + 2, lost_or_q) && is(i + 5, any_cont)) return 6;
    if (is(i + 2, any_cont) && is(i + 5, lost_or_q)) return 6;
  }
  if (in(b, 0xE0, 0xEF)) {
    if (is(i + 1, lost_or_q) && is(i + 2, lost_or_cont)) return 3;
    if (is(i + 1, lost_or_cont) && is(i + 2, lost_or_q)) return 3;
  }
  if (in(b, 0xF0, 0xF4)) {
    for (size_t q = 1; q <= 3; ++q) {  // the one place where '?' may stand
      bool ok = true;
      for (size_t k = 1; k <= 3 && ok; ++k) ok = is(i + k, k == q ? +lost_or_q : +lost_or_cont);
      if (ok) return 4;
    }
  }
  return b == 0x1A ? 1 : 0;
}

// ftfy.fixes.replace_lossy_sequences: each such sequence -> EF BF BD (U+FFFD).
Bytes replace_lossy_sequences(const Bytes& s) {
  Bytes out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = lossy_utf8_at(s, i);
    if (!len) { out.push_back(s[i++]); continue; }
    out += "\xEF\xBF\xBD";
    i += len;
  }
  return out;
}

// CESU-8 surrogate pair: ED A0..AF 80..BF ED B0..BF 80..BF.
bool is_cesu8_pair(const Bytes& s, size_t i) {
  return i + 5 < s.size() && at(s, i) == 0xED && in(at(s, i + 1), 0xA0, 0xAF) && in(at(s, i + 2), 0x80, 0xBF) &&
         at(s, i + 3) == 0xED && in(at(s, i + 4), 0xB0, 0xBF) && in(at(s, i + 5), 0x80, 0xBF);
}

// bytes.decode('utf-8-variants') (strict): UTF-8, plus C0 80 -> U+0000 and CESU-8 pairs -> the astral character;
// nullopt when anything else is ill-formed.
std::optional<std::u32string> decode_utf8_variants(const Bytes& s) {
  std::u32string out;
  out.reserve(s.size());
  size_t chunk = 0;  // start of the plain UTF-8 not decoded yet
  auto flush = [&](size_t end) {
    const std::string_view part(s.data() + chunk, end - chunk);
    if (!is_valid_utf8(part)) return false;
    out += decode_utf8_replace(part);
    return true;
  };
  for (size_t i = 0; i < s.size();) {
    const bool null = at(s, i) == 0xC0 && i + 1 < s.size() && at(s, i + 1) == 0x80;
    const bool pair = !null && is_cesu8_pair(s, i);
    if (!null && !pair) { ++i; continue; }
    if (!flush(i)) return std::nullopt;
    if (null) {
      out.push_back(0);
      i += 2;
    } else {
      const char32_t hi = ((at(s, i + 1) & 0x0F) << 6) | (at(s, i + 2) & 0x3F);  // high surrogate - 0xD800
      const char32_t lo = ((at(s, i + 4) & 0x0F) << 6) | (at(s, i + 5) & 0x3F);  // low surrogate - 0xDC00
      out.push_back(0x10000 + (hi << 10) + lo);
      i += 6;
    }
    chunk = i;
  }
  if (!flush(s.size())) return std::nullopt;
  return out;
}

// ftfy.chardata.UTF8_DETECTOR_RE at `i`: not after a strict continuation character, one or more of
// lead2 cont | lead3 cont cont | lead4 cont cont cont (first form that fits, greedily). Returns the length or 0.
size_t utf8_mojibake_at(const std::vector<uint64_t>& classes, size_t i) {
  if (i > 0 && (classes[i - 1] & kUtf8ContinuationStrict)) return 0;
  const size_t n = classes.size();
  auto conts = [&](size_t from, size_t count) {
    if (from + count > n) return false;
    for (size_t k = from; k < from + count; ++k) if (!(classes[k] & kUtf8Continuation)) return false;
    return true;
  };
  size_t p = i;
  for (;;) {
    if (p < n && (classes[p] & kUtf8Lead2) && conts(p + 1, 1)) p += 2;
    else if (p < n && (classes[p] & kUtf8Lead3) && conts(p + 1, 2)) p += 3;
    else if (p < n && (classes[p] & kUtf8Lead4) && conts(p + 1, 3)) p += 4;
    else break;
  }
  return p - i;
}

std::vector<uint64_t> classes_of(std::u32string_view text) {
  std::vector<uint64_t> classes(text.size());
  for (size_t i = 0; i < text.size(); ++i) classes[i] = ftfy_char_classes(text[i]);
  return classes;
}

// ftfy.fixes.decode_inconsistent_utf8: each detected run that is shorter than the text and looks bad on its own
// goes through fix_encoding by itself.
std::u32string decode_inconsistent_utf8(std::u32string_view text, const std::vector<uint64_t>& classes) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = utf8_mojibake_at(classes, i);
    if (!len) { out.push_back(text[i++]); continue; }
    const std::u32string_view run = text.substr(i, len);
    if (len < text.size() && ftfy_is_bad(run)) out += ftfy_fix_encoding(run);
    else out.append(run);
    i += len;
  }
  return out;
}

bool is_c1(char32_t c) { return c >= 0x80 && c <= 0x9F; }

std::u32string fix_encoding_step(std::u32string_view text) {
  if (text.empty()) return std::u32string(text);
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; }) || !ftfy_is_bad(text)) {
    return std::u32string(text);
  }
  bool latin1_possible = false;
  for (size_t e = 0; e < kFtfyEncodingCount; ++e) {
    std::optional<Bytes> bytes = encode(text, e);
    if (!bytes) continue;
    if (e == 0) latin1_possible = true;
    const SingleByteEncoding& enc = kFtfyEncodings[e];
    if (std::string_view(enc.name) != "macroman" && has_altered_utf8(*bytes)) *bytes = restore_byte_a0(*bytes);
    if (enc.sloppy) *bytes = replace_lossy_sequences(*bytes);
    if (std::optional<std::u32string> fixed = decode_utf8_variants(*bytes)) return *fixed;
  }
  const std::vector<uint64_t> classes = classes_of(text);
  bool detected = false;
  for (size_t i = 0; i < text.size() && !detected; ++i) detected = utf8_mojibake_at(classes, i) > 0;
  if (detected) {
    std::u32string fixed = decode_inconsistent_utf8(text, classes);
    if (fixed != text) return fixed;
  }
  // Latin-1 text that Windows-1252 decodes differently: its C1 controls, when all are defined in Windows-1252.
  // (ftfy would first return Latin-1 text that is also "windows-1252" unchanged, but that name is never among the
  // encodings it tried, so that branch never runs.)
  if (latin1_possible) {
    const SingleByteEncoding& cp1252 = kFtfyEncodings[1];
    std::u32string fixed(text);
    bool ok = true;
    for (char32_t& c : fixed) {
      if (!is_c1(c)) continue;
      const char32_t d = cp1252.decode(static_cast<unsigned char>(c));
      if (is_c1(d)) { ok = false; break; }  // undefined in Windows-1252 (81, 8D, 8F, 90, 9D)
      c = d;
    }
    if (ok && fixed != text) return fixed;
  }
  if (std::any_of(text.begin(), text.end(), is_c1)) return ftfy_fix_c1_controls(text);
  return std::u32string(text);
}

}  // namespace

std::u32string ftfy_fix_c1_controls(std::u32string_view text) {
  std::u32string out(text);
  for (char32_t& c : out) if (is_c1(c)) c = kFtfyEncodings[1].decode(static_cast<unsigned char>(c));
  return out;
}

std::u32string ftfy_fix_encoding(std::u32string_view text) {
  std::u32string cur(text);
  for (;;) {
    std::u32string next = fix_encoding_step(cur);
    if (next == cur) return next;
    cur = std::move(next);
  }
}

}  // namespace kd::text
