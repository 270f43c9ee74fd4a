// skipped.tsv, the inputs kd-extract did not cache and why: a header line "key<TAB>reason", then one line per input.
// Fields are escaped so that each line is one record and the file is valid UTF-8 whatever a file name holds:
// backslash -> "\\", TAB -> "\t", LF -> "\n", CR -> "\r", and every byte that is not part of well-formed UTF-8
// -> "\xHH" (two lowercase hex digits). unescape_tsv_field undoes it (docs/cache-format.md).
#pragma once

#include <string>
#include <string_view>

namespace kd {

inline constexpr const char* kSkippedTsvHeader = "key\treason\n";

std::string escape_tsv_field(std::string_view field);
std::string unescape_tsv_field(std::string_view field);

// "<escaped key>\t<escaped reason>\n".
std::string skipped_tsv_line(std::string_view key, std::string_view reason);

}  // namespace kd
