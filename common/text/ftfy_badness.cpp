// ftfy's "badness" heuristic over code points (see ftfy_badness.h); the patterns are data in ftfy_tables.cpp.
#include "common/text/ftfy_badness.h"

#include <algorithm>
#include <vector>

#include "common/text/ftfy_tables.h"
#include "common/text/unicode_text.h"

namespace kd::text {

namespace {

bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Python re's \w on str: str.isalnum() or '_' (general categories L* and N*, checked equal over all code points).
bool is_word(char32_t c) { return c == '_' || is_letter(c) || is_number(c); }

bool step_matches(const BadnessStep& step, char32_t c, uint64_t classes) {
  switch (step.kind) {
    case BadnessStep::kClass: return (classes >> step.bit) & 1u;
    case BadnessStep::kLiteral: return c == step.literal;
    case BadnessStep::kSpace: return is_python_space(c);
    case BadnessStep::kWord: return is_word(c);
    case BadnessStep::kNotAsciiLetter: return !is_ascii_letter(c);
    case BadnessStep::kNotNewline: return c != '\n';
  }
  return false;
}

}  // namespace

uint64_t ftfy_char_classes(char32_t cp) {
  const CharClassEntry* end = kFtfyCharClasses + kFtfyCharClassCount;
  const CharClassEntry* it = std::lower_bound(kFtfyCharClasses, end, cp, [](const CharClassEntry& e, char32_t v) {
    return e.code_point < v;
  });
  return it != end && it->code_point == cp ? it->classes : 0;
}

bool ftfy_is_bad(std::u32string_view text) {
  // Every pattern needs a non-ASCII character; most texts have none.
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; })) return false;
  std::vector<uint64_t> classes(text.size());
  for (size_t i = 0; i < text.size(); ++i) classes[i] = ftfy_char_classes(text[i]);
  for (size_t p = 0; p < kFtfyBadnessPatternCount; ++p) {
    const BadnessPattern& pat = kFtfyBadnessPatterns[p];
    if (pat.n_steps > text.size()) continue;
    const size_t last_start = pat.anchored ? 0 : text.size() - pat.n_steps;
    for (size_t i = 0; i <= last_start; ++i) {
      size_t k = 0;
      while (k < pat.n_steps && step_matches(pat.steps[k], text[i + k], classes[i + k])) ++k;
      if (k == pat.n_steps) return true;
    }
  }
  return false;
}

}  // namespace kd::text
