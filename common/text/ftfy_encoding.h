// ftfy 6.x's mojibake repair, ftfy.fix_encoding with the default TextFixerConfig, over code points: text that was
// UTF-8 but got decoded in a single-byte encoding ("cafÃ©" -> "café", "Î³" -> "γ", "â€™" -> "’") is encoded back
// and decoded as UTF-8, repeated until nothing changes. One step, as ftfy does it:
//   1. ASCII text, or text the heuristic (ftfy_badness.h) finds no mojibake in, is left alone;
//   2. for each of ftfy's ten encodings in order (latin-1, sloppy-windows-1252/1251/1250/1253/1254/1257,
//      iso-8859-2, macroman, cp437) that can encode the whole text: encode, then restore_byte_a0 (a space that
//      stood for byte A0 inside a UTF-8 sequence; not for macroman) and, for the sloppy encodings,
//      replace_lossy_sequences (a UTF-8 sequence with a byte lost to U+FFFD or '?' -> U+FFFD), then decode as
//      UTF-8 (ftfy's "utf-8-variants": also CESU-8 surrogate pairs and C0 80 for U+0000); the first that decodes
//      wins;
//   3. else decode_inconsistent_utf8: runs that look like UTF-8 mojibake are fixed each on its own;
//   4. else Latin-1 text with C1 controls -> Windows-1252 when every byte is defined there;
//   5. else fix_c1_controls (each U+0080..U+009F as sloppy Windows-1252).
#pragma once

#include <string>
#include <string_view>

namespace kd::text {

// ftfy.fix_encoding(text) (default configuration).
std::u32string ftfy_fix_encoding(std::u32string_view text);

// ftfy.fixes.fix_c1_controls: every U+0080..U+009F decoded as byte 80..9F in sloppy Windows-1252.
std::u32string ftfy_fix_c1_controls(std::u32string_view text);

}  // namespace kd::text
