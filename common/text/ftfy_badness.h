// ftfy 6.x's mojibake heuristic (ftfy.badness.is_bad): does a text hold a character sequence that is far more
// likely mojibake than intended, such as a lowercase accented letter followed by a currency sign? Also the
// per-character classes (ftfy_tables.h) that the heuristic and the UTF-8 detector of ftfy_encoding.cpp test.
#pragma once

#include <cstdint>
#include <string_view>

namespace kd::text {

// Bit set of the classes `cp` belongs to (kUtf8Lead2, ... and the heuristic's classes); 0 for most characters.
uint64_t ftfy_char_classes(char32_t cp);

// ftfy.badness.is_bad(text): true when any of the heuristic's patterns matches anywhere in `text`.
bool ftfy_is_bad(std::u32string_view text);

}  // namespace kd::text
