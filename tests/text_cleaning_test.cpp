// Text cleaning pieces with Python semantics: UTF-8 'replace' decoding, html.unescape, str.lower, the ftfy subset.
// Expected values were produced with CPython 3.11 (html.unescape, bytes.decode, str.lower) and ftfy 6.3.1.
#include <gtest/gtest.h>

#include "common/text/ftfy_fix.h"
#include "common/text/html_unescape.h"
#include "common/text/unicode_text.h"

namespace {

using kd::text::decode_utf8_replace;
using kd::text::encode_utf8;

std::string unescape(const std::string& s) { return encode_utf8(kd::text::html_unescape(decode_utf8_replace(s))); }
std::string fix(const std::string& s) { return encode_utf8(kd::text::ftfy_fix_text(decode_utf8_replace(s))); }

}  // namespace

TEST(TextCleaning, Utf8ReplaceMatchesPython) {
  struct Case { std::string bytes; std::u32string expected; };
  const Case cases[] = {
      {"\xE2\x82x", U"\uFFFDx"},
      {"\xFF\xFE", U"\uFFFD\uFFFD"},
      {"\xED\xA0\x80", U"\uFFFD\uFFFD\uFFFD"},
      {"\xF0\x9F\x90", U"\uFFFD"},
      {"\xC0\xAF", U"\uFFFD\uFFFD"},
      {"a\x80" "b", U"a\uFFFDb"},
      {"\xF4\x90\x80\x80", U"\uFFFD\uFFFD\uFFFD\uFFFD"},
      {"\xE0\x80\x80", U"\uFFFD\uFFFD\uFFFD"},
      {"\xF0\x9F\x90\xB6 ok", U"\U0001F436 ok"},
  };
  for (const auto& c : cases) {
    size_t n = 0;
    EXPECT_EQ(decode_utf8_replace(c.bytes, &n), c.expected) << "bytes of length " << c.bytes.size();
    EXPECT_EQ(kd::text::is_valid_utf8(c.bytes), n == 0);
  }
}

TEST(TextCleaning, HtmlUnescapeMatchesPython) {
  const std::pair<std::string, std::string> cases[] = {
      {"&amp;amp;", "&amp;"},
      {"&lt;b&gt;", "<b>"},
      {"&#65;&#x42;&#X43", "ABC"},
      {"&#0;", "\xEF\xBF\xBD"},
      {"&#128;", "\xE2\x82\xAC"},
      {"&#1;x", "x"},
      {"&#xD800;", "\xEF\xBF\xBD"},
      {"&#99999999999999999999;", "\xEF\xBF\xBD"},
      {"&ampfoo;", "&foo;"},
      {"&notit;", "\xC2\xACit;"},
      {"&notin;", "\xE2\x88\x89"},
      {"&zz;", "&zz;"},
      {"& amp", "& amp"},
      {"&#x;", "&#x;"},
      {"&#;", "&#;"},
      {"&AMP", "&"},
      {"&eacute", "\xC3\xA9"},
      {"&Eacute;caf", "\xC3\x89" "caf"},
      {"a&&amp;b", "a&&b"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(unescape(in), out) << "input '" << in << "'";
}

TEST(TextCleaning, PythonLower) {
  // 'ΣΑΣ ΑΣ. Σ İ'.lower() in CPython: final sigma at word ends, İ -> i + U+0307.
  const std::u32string in = U"\u03A3\u0391\u03A3 \u0391\u03A3. \u03A3 \u0130";
  const std::u32string expected = U"\u03C3\u03B1\u03C2 \u03B1\u03C2. \u03C3 i\u0307";
  EXPECT_EQ(kd::text::python_lower(in), expected);
  EXPECT_EQ(kd::text::python_lower(U"\u00C0\u00C9\u00CE ABC"), U"\u00E0\u00E9\u00EE abc");
}

TEST(TextCleaning, FtfySubset) {
  EXPECT_EQ(fix("Cafe\xCC\x81"), "Caf\xC3\xA9");                                  // NFC
  EXPECT_EQ(fix("\xE2\x80\x98hi\xE2\x80\x99 \xE2\x80\x9Cyo\xE2\x80\x9D"), "'hi' \"yo\"");  // uncurl_quotes
  EXPECT_EQ(fix("\xEF\xAC\x81le \xEF\xAC\x82y"), "file fly");                      // ligatures
  EXPECT_EQ(fix("\xEF\xBC\xA1\xEF\xBC\x91\xE3\x80\x80x"), "A1 x");                 // fullwidth, ideographic space
  EXPECT_EQ(fix("a\xC2\x93q\xC2\x94"), "a\"q\"");                                   // C1 -> cp1252 -> uncurled
  EXPECT_EQ(fix("\x1B[31mred\x1B[0m\x01"), "red");                                  // terminal escapes, controls
  EXPECT_EQ(fix("&amp;amp;amp; &EACUTE;"), "& \xC3\x89");                           // to a fixed point; upper names
  EXPECT_EQ(fix("<p>&amp;amp;"), "<p>&amp;amp;");                                    // '<' turns unescaping off
  EXPECT_EQ(fix("&#65abc; &#x41;"), "&#65abc; A");                                   // partial numeric kept
  EXPECT_EQ(fix("a\r\nb\xE2\x80\xA8" "c"), "a\nb\nc");                               // line breaks
  EXPECT_EQ(fix("x\xEF\xBB\xBFy"), "xy");                                           // BOM removed
}

// ftfy 6.3.1's outputs (run from its source) for mojibake and the other fixes kd added for it.
TEST(TextCleaning, FtfyFixesMojibake) {
  EXPECT_EQ(fix("\xC3\x8E\xC2\xB3"), "\xCE\xB3");                                   // "Î³" -> "γ"
  EXPECT_EQ(fix("caf\xC3\x83\xC2\xA9"), "caf\xC3\xA9");                             // "cafÃ©" -> "café"
  EXPECT_EQ(fix("\xC3\xA2\xE2\x82\xAC\xE2\x84\xA2"), "'");                          // "â€™" -> "’" -> "'"
  EXPECT_EQ(fix("\xC3\xA2\xE2\x82\xAC\xC5\x93 like this \xC3\xA2\xE2\x82\xAC\xEF\xBF\xBD"),
            "\" like this \xEF\xBF\xBD");                                           // lossy: "â€�" -> "�"
  EXPECT_EQ(fix("voil\xC3\x83 le travail"), "voil\xC3\xA0 le travail");             // restore_byte_a0
  EXPECT_EQ(fix("\xC3\x90\xC5\xA1\xC3\x90\xC2\xBE\xC3\x91\xCB\x86\xC3\x90\xC2\xBA\xC3\x90\xC2\xB0"),
            "\xD0\x9A\xD0\xBE\xD1\x88\xD0\xBA\xD0\xB0");                            // "ÐšÐ¾ÑˆÐºÐ°" -> "Кошка"
  EXPECT_EQ(fix("\xE2\x9C\x94 No problems"), "\xE2\x9C\x94 No problems");           // clean text stays
  EXPECT_EQ(fix("S\xC3\xA3o Paulo \xC3\x83 la"), "S\xC3\xA3o Paulo \xC3\xA0 la");   // "Ã la" -> "à la"
  EXPECT_EQ(fix("\xC7\xB2" "ava \xC7\xB1 \xC7\xB3"), "Dzava DZ dz");                // DZ digraphs split
}

TEST(TextCleaning, FtfyFixesSurrogates) {
  const std::u32string in = {U'a', 0xD83D, 0xDE00, U'b', 0xDC00, 0xD800};
  EXPECT_EQ(kd::text::ftfy_fix_text(in), (std::u32string{U'a', 0x1F600, U'b', 0xFFFD, 0xFFFD}));
}
