// Generated data for kd's mojibake repair (ftfy 6.x's fix_encoding, see ftfy_encoding.h): ftfy's candidate
// single-byte encodings, character classes and "badness" patterns. Data lives in ftfy_tables.cpp, made by
// tools/gen_ftfy_tables.py (decoding tables and UTF-8 clue classes from Python's codecs).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kd::text {

struct SingleByteEncoding {
  const char* name;       // ftfy's name: "latin-1", "sloppy-windows-1252", ..., "macroman", "cp437"
  bool sloppy;            // byte 0x1A stands for U+FFFD; undefined bytes decode as Latin-1
  char32_t high[128];     // byte 0x80 + i -> code point; bytes below 0x80 are ASCII (but 0x1A when sloppy)

  char32_t decode(unsigned char b) const {
    if (b >= 0x80) return high[b - 0x80];
    return sloppy && b == 0x1A ? 0xFFFD : b;
  }
};

constexpr size_t kFtfyEncodingCount = 10;
extern const SingleByteEncoding kFtfyEncodings[kFtfyEncodingCount];

// Character class bits 0..4 (the UTF-8 clues); the heuristic's classes follow from bit 5.
enum : uint64_t {
  kUtf8Lead2 = 1ull << 0,               // decodes from a byte C2..DF in a Latin-1-like encoding
  kUtf8Lead3 = 1ull << 1,               // ... from E0..EF
  kUtf8Lead4 = 1ull << 2,               // ... from F0 or F3
  kUtf8Continuation = 1ull << 3,        // ... from 80..BF, or U+0020 (standing for a lost U+00A0)
  kUtf8ContinuationStrict = 1ull << 4,  // ... from 80..BF, without spaces, dashes, quotes, bullet, ellipsis
};

struct CharClassEntry {
  char32_t code_point;
  uint64_t classes;
};
extern const CharClassEntry kFtfyCharClasses[];  // sorted by code point; absent = no class
extern const size_t kFtfyCharClassCount;

struct BadnessStep {
  enum Kind : uint8_t {
    kClass,            // the code point has class bit `bit`
    kLiteral,          // the code point is `literal`
    kSpace,            // Python re \s (str.isspace)
    kWord,             // Python re \w (str.isalnum or '_')
    kNotAsciiLetter,   // [^A-Za-z]
    kNotNewline,       // .
  };
  Kind kind;
  uint8_t bit;
  char32_t literal;
};

struct BadnessPattern {
  bool anchored;  // matches only at the start of the text
  uint8_t n_steps;
  BadnessStep steps[7];  // one code point each
};
extern const BadnessPattern kFtfyBadnessPatterns[];
extern const size_t kFtfyBadnessPatternCount;

}  // namespace kd::text
