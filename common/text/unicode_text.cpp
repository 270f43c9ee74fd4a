// Unicode helpers with Python str semantics (see unicode_text.h), built on utf8proc.
#include "common/text/unicode_text.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "common/util/error.h"

namespace kd::text {

namespace {

bool in(unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; }

// Length of the well-formed sequence starting at bytes[i], or 0 with `subpart` = the length of the maximal
// ill-formed subpart (>= 1) to replace by one U+FFFD (Unicode "substitution of maximal subparts", as CPython does).
size_t next_sequence(std::string_view s, size_t i, char32_t* cp, size_t* subpart) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) { *cp = b0; return 1; }
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t value;
  if (in(b0, 0xC2, 0xDF)) { need = 1; value = b0 & 0x1F; }
  else if (b0 == 0xE0) { need = 2; lo = 0xA0; value = b0 & 0x0F; }
  else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) { need = 2; value = b0 & 0x0F; }
  else if (b0 == 0xED) { need = 2; hi = 0x9F; value = b0 & 0x0F; }
  else if (b0 == 0xF0) { need = 3; lo = 0x90; value = b0 & 0x07; }
  else if (in(b0, 0xF1, 0xF3)) { need = 3; value = b0 & 0x07; }
  else if (b0 == 0xF4) { need = 3; hi = 0x8F; value = b0 & 0x07; }
  else { *subpart = 1; return 0; }  // 80..C1, F5..FF never start a sequence
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) { *subpart = k; return 0; }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const bool ok = k == 1 ? in(b, lo, hi) : in(b, 0x80, 0xBF);
    if (!ok) { *subpart = k; return 0; }
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  return need + 1;
}

bool has_category(char32_t cp, std::initializer_list<utf8proc_category_t> cats) {
  if (cp > 0x10FFFF) return false;
  const auto c = static_cast<utf8proc_category_t>(utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->category);
  for (auto x : cats) if (x == c) return true;
  return false;
}

// Python's _PyUnicode_IsCased approximated with utf8proc: a cased letter category, or a code point with a case
// mapping (covers Other_Lowercase/Other_Uppercase letters such as U+24B6 CIRCLED LATIN CAPITAL LETTER A).
bool is_cased(char32_t cp) {
  if (has_category(cp, {UTF8PROC_CATEGORY_LU, UTF8PROC_CATEGORY_LL, UTF8PROC_CATEGORY_LT})) return true;
  const auto c = static_cast<utf8proc_int32_t>(cp);
  return utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

// Unicode Case_Ignorable: Word_Break MidLetter/MidNumLet/Single_Quote, or category Mn, Me, Cf, Lm, Sk.
bool is_case_ignorable(char32_t cp) {
  switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4: case 0x2018: case 0x2019:
    case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return has_category(cp, {UTF8PROC_CATEGORY_MN, UTF8PROC_CATEGORY_ME, UTF8PROC_CATEGORY_CF,
                               UTF8PROC_CATEGORY_LM, UTF8PROC_CATEGORY_SK});
  }
}

// CPython's handle_capital_sigma: ς when a cased letter precedes (skipping case-ignorables) and none follows.
char32_t lower_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  bool before = false;
  while (j > 0) {
    const char32_t c = s[--j];
    if (is_case_ignorable(c)) continue;
    before = is_cased(c);
    break;
  }
  bool after = false;
  for (size_t k = i + 1; k < s.size(); ++k) {
    if (is_case_ignorable(s[k])) continue;
    after = is_cased(s[k]);
    break;
  }
  return before && !after ? 0x3C2 : 0x3C3;
}

std::u32string normalize(std::u32string_view text, int options) {
  const std::string utf8 = encode_utf8(text);
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                          static_cast<utf8proc_ssize_t>(utf8.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) throw Error("Unicode normalisation failed").got(utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> hold(out, &std::free);
  return decode_utf8_replace(std::string_view(reinterpret_cast<const char*>(out), static_cast<size_t>(n)));
}

}  // namespace

std::u32string decode_utf8_replace(std::string_view bytes, size_t* n_replaced) {
  std::u32string out;
  out.reserve(bytes.size());
  size_t replaced = 0;
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    size_t subpart = 0;
    const size_t n = next_sequence(bytes, i, &cp, &subpart);
    if (n) { out.push_back(cp); i += n; }
    else { out.push_back(0xFFFD); ++replaced; i += subpart; }
  }
  if (n_replaced) *n_replaced = replaced;
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = utf8_sequence_length(bytes, i);
    if (!n) return false;
    i += n;
  }
  return true;
}

size_t utf8_sequence_length(std::string_view bytes, size_t i) {
  char32_t cp;
  size_t subpart;
  return next_sequence(bytes, i, &cp, &subpart);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

std::u32string nfc(std::u32string_view text) {
  return normalize(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

std::u32string python_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: SpecialCasing.txt full mapping
      out.push_back(U'i');
      out.push_back(0x307);
    } else if (cp == 0x3A3) {  // GREEK CAPITAL LETTER SIGMA: Final_Sigma
      out.push_back(lower_sigma(text, i));
    } else if (cp <= 0x10FFFF) {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    } else {
      out.push_back(cp);
    }
  }
  return out;
}

bool is_white_space(char32_t cp) {
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85) return true;
  if (cp < 0xA0) return false;
  return has_category(cp, {UTF8PROC_CATEGORY_ZS, UTF8PROC_CATEGORY_ZL, UTF8PROC_CATEGORY_ZP});
}

bool is_python_space(char32_t cp) { return is_white_space(cp) || (cp >= 0x1C && cp <= 0x1F); }

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return has_category(cp, {UTF8PROC_CATEGORY_LU, UTF8PROC_CATEGORY_LL, UTF8PROC_CATEGORY_LT,
                           UTF8PROC_CATEGORY_LM, UTF8PROC_CATEGORY_LO});
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return has_category(cp, {UTF8PROC_CATEGORY_ND, UTF8PROC_CATEGORY_NL, UTF8PROC_CATEGORY_NO});
}

bool is_decimal_digit(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return has_category(cp, {UTF8PROC_CATEGORY_ND});
}

std::u32string_view python_strip(std::u32string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && is_python_space(text[b])) ++b;
  while (e > b && is_python_space(text[e - 1])) --e;
  return text.substr(b, e - b);
}

}  // namespace kd::text
