// Python's html.unescape (see html_unescape.h). The regex it mirrors:
//   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
#include "common/text/html_unescape.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/text/html5_entities.h"
#include "common/text/unicode_text.h"

namespace kd::text {

namespace {

std::u32string lookup(const NamedEntity* table, size_t n, std::string_view name) {
  const NamedEntity* end = table + n;
  const NamedEntity* it = std::lower_bound(table, end, name, [](const NamedEntity& e, std::string_view key) {
    return std::string_view(e.name) < key;
  });
  if (it == end || std::string_view(it->name) != name) return {};
  std::u32string out;
  for (char32_t c : it->value) if (c) out.push_back(c);
  return out;
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char32_t c) { return is_digit(c) ? int(c - '0') : int((c | 0x20) - 'a' + 10); }

// The replacement CPython's _replace_charref gives the number `num` (saturated above 0x10FFFF).
void append_charref(std::u32string& out, uint64_t num) {
  const WidthMapEntry* ie = kHtmlInvalidCharrefs + kHtmlInvalidCharrefCount;
  const WidthMapEntry* it = std::lower_bound(kHtmlInvalidCharrefs, ie, num,
                                             [](const WidthMapEntry& e, uint64_t v) { return e.code_point < v; });
  if (it != ie && it->code_point == num) {
    for (char32_t c : it->value) if (c) out.push_back(c);
    return;
  }
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) { out.push_back(0xFFFD); return; }
  if (std::binary_search(kHtmlInvalidCodepoints, kHtmlInvalidCodepoints + kHtmlInvalidCodepointCount,
                         static_cast<char32_t>(num))) {
    return;  // dropped
  }
  out.push_back(static_cast<char32_t>(num));
}

bool ends_name(char32_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';';
}

// ASCII spelling of code points for the (ASCII-only) entity tables; nullopt-like false when non-ASCII.
bool ascii_name(std::u32string_view s, std::string* out) {
  out->clear();
  for (char32_t c : s) {
    if (c >= 0x80) return false;
    out->push_back(static_cast<char>(c));
  }
  return true;
}

}  // namespace

std::u32string html5_entity(std::string_view name) { return lookup(kHtml5Entities, kHtml5EntityCount, name); }

std::u32string ftfy_upper_entity(std::string_view name) {
  return lookup(kFtfyUpperEntities, kFtfyUpperEntityCount, name);
}

std::u32string html_unescape(std::u32string_view s) {
  if (s.find(U'&') == std::u32string_view::npos) return std::u32string(s);
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  std::string name;
  while (i < s.size()) {
    if (s[i] != '&') { out.push_back(s[i++]); continue; }
    const size_t start = i + 1;  // first character after '&'
    if (start < s.size() && s[start] == '#') {
      size_t j = start + 1;
      const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X') && j + 1 < s.size() && is_hex(s[j + 1]);
      const bool dec = j < s.size() && is_digit(s[j]);
      if (!hex && !dec) { out.push_back(s[i++]); continue; }  // "&#" followed by neither: literal '&'
      uint64_t num = 0;
      const uint64_t cap = 0x110000;  // anything above 0x10FFFF decodes to U+FFFD
      if (dec) {
        for (; j < s.size() && is_digit(s[j]); ++j) num = std::min<uint64_t>(cap, num * 10 + (s[j] - '0'));
      } else {
        for (++j; j < s.size() && is_hex(s[j]); ++j) num = std::min<uint64_t>(cap, num * 16 + hex_value(s[j]));
      }
      if (j < s.size() && s[j] == ';') ++j;
      append_charref(out, num);
      i = j;
      continue;
    }
    size_t j = start;
    while (j < s.size() && j - start < 32 && !ends_name(s[j])) ++j;
    if (j == start) { out.push_back(s[i++]); continue; }  // nothing the named alternative can match
    if (j < s.size() && s[j] == ';') ++j;
    const std::u32string_view ref = s.substr(start, j - start);  // name, with its ';' when present
    std::u32string value;
    if (ascii_name(ref, &name)) value = html5_entity(name);
    if (!value.empty()) {
      out += value;
    } else {
      bool found = false;
      for (size_t x = ref.size() - 1; x >= 2 && !found; --x) {  // longest known prefix, at least 2 characters
        if (!ascii_name(ref.substr(0, x), &name)) continue;
        value = html5_entity(name);
        if (!value.empty()) {
          out += value;
          out.append(ref.substr(x));
          found = true;
        }
      }
      if (!found) {
        out.push_back('&');
        out.append(ref);
      }
    }
    i = j;
  }
  return out;
}

}  // namespace kd::text
