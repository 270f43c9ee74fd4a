// ftfy.fix_text with its default configuration (see ftfy_fix.h for the steps).
#include "common/text/ftfy_fix.h"

#include <algorithm>

#include "common/text/ftfy_encoding.h"
#include "common/text/html5_entities.h"
#include "common/text/html_unescape.h"
#include "common/text/unicode_text.h"

namespace kd::text {

namespace {

constexpr size_t kMaxDecodeLength = 1000000;  // ftfy's TextFixerConfig.max_decode_length, in code points

bool is_alnum_ascii(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ftfy.fixes.unescape_html: each match of "&#?[0-9A-Za-z]{1,24};" is replaced when it is a known entity (with its
// ';') or an upper-cased one, or a numeric reference that html.unescape decodes completely.
std::u32string unescape_html(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      size_t j = i + 1;
      const bool numeric = j < s.size() && s[j] == '#';
      if (numeric) ++j;
      const size_t name_start = j;
      while (j < s.size() && j - name_start < 24 && is_alnum_ascii(s[j])) ++j;
      if (j > name_start && j < s.size() && s[j] == ';') {
        const std::u32string_view match = s.substr(i, j + 1 - i);  // "&...;"
        std::string name;
        for (char32_t c : match.substr(1)) name.push_back(static_cast<char>(c));  // ASCII by construction
        std::u32string value;
        bool replace = false;
        if (!numeric) {
          value = html5_entity(name);
          if (value.empty()) value = ftfy_upper_entity(name);
          replace = !value.empty();
        } else {  // kept when html.unescape leaves a ';' (it decoded only part); "&#1;" decodes to ''
          value = html_unescape(match);
          replace = value.find(U';') == std::u32string::npos;
        }
        if (replace) {
          out += value;
          i = j + 1;
          continue;
        }
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

std::u32string fix_latin_ligatures(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    switch (c) {
      case 0x132: out += U"IJ"; break;
      case 0x133: out += U"ij"; break;
      case 0x149: out += U"\u02BCn"; break;
      case 0x1C4: out += U"D\u017D"; break;
      case 0x1C5: out += U"D\u017E"; break;
      case 0x1C6: out += U"d\u017E"; break;
      case 0x1C7: out += U"LJ"; break;
      case 0x1C8: out += U"Lj"; break;
      case 0x1C9: out += U"lj"; break;
      case 0x1CA: out += U"NJ"; break;
      case 0x1CB: out += U"Nj"; break;
      case 0x1CC: out += U"nj"; break;
      case 0x1F1: out += U"DZ"; break;
      case 0x1F2: out += U"Dz"; break;
      case 0x1F3: out += U"dz"; break;
      case 0xFB00: out += U"ff"; break;
      case 0xFB01: out += U"fi"; break;
      case 0xFB02: out += U"fl"; break;
      case 0xFB03: out += U"ffi"; break;
      case 0xFB04: out += U"ffl"; break;
      case 0xFB05: out += U"\u017Ft"; break;
      case 0xFB06: out += U"st"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::u32string fix_character_width(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const WidthMapEntry* end = kFtfyWidthMap + kFtfyWidthMapCount;
  for (char32_t c : s) {
    if (c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF)) {
      const WidthMapEntry* it = std::lower_bound(kFtfyWidthMap, end, c, [](const WidthMapEntry& e, char32_t v) {
        return e.code_point < v;
      });
      if (it != end && it->code_point == c) {
        for (char32_t v : it->value) if (v) out.push_back(v);
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

std::u32string uncurl_quotes(std::u32string_view s) {
  std::u32string out(s);
  for (char32_t& c : out) {
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
    else if (c >= 0x201C && c <= 0x201F) c = '"';
  }
  return out;
}

std::u32string fix_line_breaks(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;  // "\r\n" -> "\n"
    out.push_back(c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? U'\n' : c);
  }
  return out;
}

// ANSI_RE = "\033\[((?:\d|;)*)([a-zA-Z])" (\d is Unicode Nd in Python's re).
std::u32string remove_terminal_escapes(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && (s[j] == ';' || is_decimal_digit(s[j]))) ++j;
      if (j < s.size() && s[j] < 0x80 && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')) {
        i = j + 1;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

// Paired UTF-16 surrogates -> the character they encode; any other surrogate -> U+FFFD.
std::u32string fix_surrogates(std::u32string_view s) {
  auto high = [](char32_t c) { return c >= 0xD800 && c <= 0xDBFF; };
  auto low = [](char32_t c) { return c >= 0xDC00 && c <= 0xDFFF; };
  if (std::none_of(s.begin(), s.end(), [](char32_t c) { return c >= 0xD800 && c <= 0xDFFF; })) {
    return std::u32string(s);
  }
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (high(s[i]) && i + 1 < s.size() && low(s[i + 1])) {
      out.push_back(0x10000 + ((s[i] - 0xD800) << 10) + (s[i + 1] - 0xDC00));
      ++i;
    } else {
      out.push_back(high(s[i]) || low(s[i]) ? 0xFFFD : s[i]);
    }
  }
  return out;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string remove_control_chars(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) if (!is_removed_control(c)) out.push_back(c);
  return out;
}

std::u32string fix_segment(std::u32string text, bool unescape) {
  for (;;) {
    const std::u32string orig = text;
    if (unescape) text = unescape_html(text);
    text = ftfy_fix_encoding(text);
    text = ftfy_fix_c1_controls(text);
    text = fix_latin_ligatures(text);
    text = fix_character_width(text);
    text = uncurl_quotes(text);
    text = fix_line_breaks(text);
    text = fix_surrogates(text);
    text = remove_terminal_escapes(text);
    text = remove_control_chars(text);
    text = nfc(text);
    if (text == orig) return text;
  }
}

}  // namespace

std::u32string ftfy_fix_text(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool unescape = true;  // "auto": off for this and every later segment once a segment holds '<'
  size_t pos = 0;
  while (pos < text.size()) {
    size_t brk = text.find(U'\n', pos);
    brk = brk == std::u32string_view::npos ? text.size() : brk + 1;
    brk = std::min(brk, pos + kMaxDecodeLength);
    const std::u32string_view segment = text.substr(pos, brk - pos);
    if (segment.find(U'<') != std::u32string_view::npos) unescape = false;
    out += fix_segment(std::u32string(segment), unescape);
    pos = brk;
  }
  return out;
}

}  // namespace kd::text
