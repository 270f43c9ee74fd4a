// ftfy.fix_text (ftfy 6.3.1, default TextFixerConfig: explain=False, NFC) over code points, as CLIP's tokenizer
// runs it. The text is cut into segments after each '\n' (and every max_decode_length = 1,000,000 code points);
// each segment goes through these steps, in ftfy's order, repeated until nothing changes (fix_and_explain):
//   unescape_html      ftfy's own unescape ("&#?[0-9A-Za-z]{1,24};" only, incl. upper-cased names like &EACUTE;),
//                      skipped once a segment containing '<' has been seen ("auto" mode);
//   fix_encoding       mojibake repair with restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8
//                      and fix_c1_controls (common/text/ftfy_encoding.h);
//   fix_c1_controls    U+0080..U+009F decoded as sloppy windows-1252 (U+0085 -> '…', U+0093 -> '"'...);
//   fix_latin_ligatures ﬁ -> fi, Ĳ -> IJ, ...;
//   fix_character_width fullwidth/halfwidth forms (U+FF01..U+FFEF) -> NFKC, U+3000 -> ' ';
//   uncurl_quotes      U+02BC, U+2018..U+201B -> ', U+201C..U+201F -> ";
//   fix_line_breaks    \r\n, \r, U+2028, U+2029, U+0085 -> \n;
//   fix_surrogates     paired UTF-16 surrogates -> one character, lone ones -> U+FFFD (text decoded from UTF-8
//                      has none; kept for callers that build code points themselves);
//   remove_terminal_escapes  ESC [ digits/; letter;
//   remove_control_chars     U+0000..0008, 000B, 000E..001F, 007F, 206A..206F, FEFF, FFF9..FFFC;
//   NFC normalisation (utf8proc's Unicode tables; Python 3.11 has Unicode 14).
// How closely this follows ftfy is measured in tests/ftfy_differential_test.cpp against outputs recorded from
// ftfy 6.3.1 itself (tests/data/ftfy_cases.jsonl; docs/text-cleaning.md lists the known differences).
#pragma once

#include <string>
#include <string_view>

namespace kd::text {

// ftfy.fix_text(text) with the default configuration.
std::u32string ftfy_fix_text(std::u32string_view text);

}  // namespace kd::text
