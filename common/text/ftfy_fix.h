// The part of ftfy.fix_text (ftfy 6.x, default TextFixerConfig) that CLIP's tokenizer needs, over code points.
//
// Implemented, in ftfy's order and repeated until nothing changes (as fix_and_explain does), per line segment:
//   unescape_html      ftfy's own unescape ("&#?[0-9A-Za-z]{1,24};" only, incl. upper-cased names like &EACUTE;),
//                      skipped once a segment containing '<' has been seen ("auto" mode);
//   fix_c1_controls    U+0080..U+009F decoded as sloppy windows-1252 (U+0085 -> '…', U+0093 -> '"'...);
//   fix_latin_ligatures ﬁ -> fi, Ĳ -> IJ, ...;
//   fix_character_width fullwidth/halfwidth forms (U+FF01..U+FFEF) -> NFKC, U+3000 -> ' ';
//   uncurl_quotes      U+02BC, U+2018..U+201B -> ', U+201C..U+201F -> ";
//   fix_line_breaks    \r\n, \r, U+2028, U+2029, U+0085 -> \n;
//   remove_terminal_escapes  ESC [ digits/; letter;
//   remove_control_chars     U+0000..0008, 000B, 000E..001F, 007F, 206A..206F, FEFF, FFF9..FFFC;
//   NFC normalisation.
// Not implemented: fix_encoding (mojibake repair such as "cafÃ©" -> "café", and its helpers restore_byte_a0,
// replace_lossy_sequences, decode_inconsistent_utf8). It is a heuristic built on ftfy's "badness" statistics and
// many codec tables, it never changes clean UTF-8 captions (COCO, CC), and an inexact copy would be worse than a
// documented gap: a caption that really is mojibake tokenizes here as it is written. fix_surrogates has nothing to
// do on text decoded from UTF-8 (surrogates are replaced while decoding).
#pragma once

#include <string>
#include <string_view>

namespace kd::text {

// ftfy.fix_text(text) restricted to the fixes listed above.
std::u32string ftfy_fix_text(std::u32string_view text);

}  // namespace kd::text
