// Enums that users spell as words (CLI flags, JSON files): one table per enum lists every accepted spelling, the
// canonical one first. Words are parsed into the enum once, at the edge; the library only sees the enum.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/util/error.h"

namespace kd {

// One value of an enum and its spellings: names[0] is written (JSON, --help defaults); all of them are read.
template <class E>
struct EnumSpelling {
  E value;
  std::vector<std::string> names;
};

// Every enum named this way declares, in its own namespace (found by argument-dependent lookup):
//   const std::vector<EnumSpelling<E>>& enum_spellings(E);
// Then these work for it:

// "fp32|32, fp16|16|16-mixed, bf16|bf16-mixed": every accepted spelling, for help and error texts.
template <class E>
std::string enum_choices(E tag = E{}) {
  std::string out;
  for (const auto& s : enum_spellings(tag)) {
    out += out.empty() ? "" : ", ";
    for (size_t i = 0; i < s.names.size(); ++i) out += (i ? "|" : "") + s.names[i];
  }
  return out;
}

// The enum named by `text` (any of its spellings); kd::Error naming `key` (e.g. "--precision") and the choices.
template <class E>
E parse_enum(std::string_view text, const std::string& key) {
  for (const auto& s : enum_spellings(E{}))
    for (const auto& n : s.names)
      if (n == text) return s.value;
  throw Error("unknown value").key(key).expected(enum_choices<E>()).got(std::string(text));
}

// The canonical spelling of `value`.
template <class E>
const std::string& enum_name(E value) {
  for (const auto& s : enum_spellings(value))
    if (s.value == value) return s.names.front();
  throw Error("enum value without a name").got(std::to_string(static_cast<long long>(value)));
}

}  // namespace kd
