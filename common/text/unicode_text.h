// Unicode helpers with Python str semantics for text cleaning: UTF-8 decoding as bytes.decode('utf-8', 'replace'),
// NFC, str.lower(), and the character classes of the CLIP split regex.
//
// Why utf8proc and not ICU: utf8proc is a small C library (one header, ~400 KB) that has exactly what the tokenizer
// needs — general categories, simple case mappings and NFC — while ICU is ~30 MB of C++ with its own data files,
// locales and string types that nothing else in kd needs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kd::text {

// Decodes UTF-8 exactly like Python's bytes.decode('utf-8', errors='replace'): every maximal ill-formed subpart
// (an invalid byte, or the longest prefix of a valid sequence that is cut short) becomes one U+FFFD. Surrogates
// encoded in UTF-8 (ED A0..BF ..) and overlong forms are ill-formed. `n_replaced` (optional) counts the U+FFFDs added.
std::u32string decode_utf8_replace(std::string_view bytes, size_t* n_replaced = nullptr);

// True when `bytes` is well-formed UTF-8 (decode_utf8_replace would replace nothing).
bool is_valid_utf8(std::string_view bytes);

// Length (1..4) of the well-formed UTF-8 sequence that starts at bytes[i] (i < size), or 0 when none starts there.
size_t utf8_sequence_length(std::string_view bytes, size_t i);

// Encodes code points as UTF-8 (code points must be scalar values; others are written as U+FFFD).
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t cp);

// unicodedata.normalize('NFC', text) (utf8proc's Unicode version).
std::u32string nfc(std::u32string_view text);

// Python str.lower(): full lowercase mapping (U+0130 -> "i\u0307") and the Final_Sigma rule (Σ -> ς at the end of a
// word); every other code point takes its simple lowercase mapping.
std::u32string python_lower(std::u32string_view text);

// Unicode White_Space (regex \s, str.isspace without U+001C..U+001F).
bool is_white_space(char32_t cp);
// Python str.isspace(): White_Space plus U+001C..U+001F (what str.strip() removes).
bool is_python_space(char32_t cp);
// \p{L}: general category Lu, Ll, Lt, Lm, Lo.
bool is_letter(char32_t cp);
// \p{N}: general category Nd, Nl, No.
bool is_number(char32_t cp);

// Python re's \d on str: general category Nd.
bool is_decimal_digit(char32_t cp);

// Python's str.strip() (is_python_space at both ends).
std::u32string_view python_strip(std::u32string_view text);

}  // namespace kd::text
