#!/usr/bin/python3
"""Generates common/text/ftfy_tables.cpp: the data kd's mojibake repair (common/text/ftfy_encoding.cpp) needs.

  - the ten single-byte encodings ftfy 6.x tries, in its order, as 256-entry decoding tables made from Python's
    own codecs; a "sloppy-X" table is X where X defines the byte and Latin-1 where it does not, with byte 0x1A
    standing for U+FFFD (how ftfy's sloppy codecs are defined);
  - per code point, a bit set of the character classes the mojibake heuristic and the UTF-8 detector test:
      * the UTF-8 clues, derived from the codecs: the characters that the bytes C2..DF / E0..EF / F0,F3 /
        80..BF decode to in Latin-1 or Windows-1250/1251/1252/1253/1254/1257 (lead bytes of 2-, 3-, 4-byte
        sequences, continuation bytes; "loose" continuation also accepts U+0020, "strict" continuation leaves out
        spaces, dashes, quotation marks, bullet and ellipsis);
      * the classes of ftfy's "badness" heuristic (ftfy/badness.py, 6.3.1), restated below as code point ranges;
  - the heuristic's patterns, each a short sequence of classes (a match anywhere makes a text "bad").
Run with the system Python from the repository root:  /usr/bin/python3 tools/gen_ftfy_tables.py
"""
import sys
import unicodedata

OUT = "common/text/ftfy_tables.cpp"

# The encodings ftfy tries, in its order (ftfy.chardata.CHARMAP_ENCODINGS): (name, Python codec, sloppy?).
ENCODINGS = [
    ("latin-1", "latin-1", False),
    ("sloppy-windows-1252", "cp1252", True),
    ("sloppy-windows-1251", "cp1251", True),
    ("sloppy-windows-1250", "cp1250", True),
    ("sloppy-windows-1253", "cp1253", True),
    ("sloppy-windows-1254", "cp1254", True),
    ("sloppy-windows-1257", "cp1257", True),
    ("iso-8859-2", "iso-8859-2", False),
    ("macroman", "mac-roman", False),
    ("cp437", "cp437", False),
]

CLUE_CODECS = ["latin-1", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257"]


def decoding_table(codec, sloppy):
    if not sloppy:
        table = [ord(c) for c in bytes(range(256)).decode(codec)]
    else:
        table = list(range(256))
        for b, c in enumerate(bytes(range(256)).decode(codec, errors="replace")):
            if c != "\ufffd":
                table[b] = ord(c)
        table[0x1A] = 0xFFFD
    for b in range(0x80):
        assert table[b] == b or (sloppy and b == 0x1A), (codec, b)
    assert len(set(table)) == 256, codec  # one byte per character: encoding is the inverse table
    return table


def decoded_by(byte_values):
    out = set()
    for codec in CLUE_CODECS:
        for b in byte_values:
            try:
                out.add(ord(bytes([b]).decode(codec)))
            except UnicodeDecodeError:
                pass
    return out


def ranges(spec):
    """'A0 2013-2015' -> set of code points."""
    out = set()
    for part in spec.split():
        lo, _, hi = part.partition("-")
        out.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return out


def chars(s):
    return {ord(c) for c in s}


# ftfy 6.3.1's badness classes (ftfy/badness.py MOJIBAKE_CATEGORIES), as code points.
CAT = {
    "common": ranges("A0 AD B4 B7 2013-2015 2019 2026"),
    "c1": ranges("80-9F"),
    "bad": ranges("A4 A6 A8 AA AC AF B8 BA 192 2C6-2C7 2D8 2DB-2DC 2020-2021 2030 2310 25CA FFFD"),
    "law": ranges("A7 B6"),
    "currency": ranges("A2-A3 A5 20A7 20AC"),
    "start_punct": ranges("A1 A9 AB BF 384-385 2018 201A 201C 201E 2022 2039 F8FF"),
    "end_punct": ranges("AE BB 2DD 201D 203A 2122"),
    "numeric": ranges("B1-B3 B5 B9 BC-BE D7 F7 2044 2116 2202 2206 220F 2211 221A 221E 2229 222B 2248 2260-2261 "
                      "2264-2265"),
    "kaomoji": ranges("B0 D2-D6 D9-DC F2-F6 F8-FC 14C 150 16A 172"),
    "upper_accented": ranges("C0-D1 D8 DC-DD 100 102 104 106 10C 10E 110 112 116 118 11A 11E 122 12A 130 136 139 "
                             "13B 13D 141 143 145 147 152 158 15A 15E 160 162 164 16E 170 178-179 17B 17D 490"),
    "lower_accented": ranges("DF-F1 FC 101 103 105 107 10D 10F 111 113 117 119 11B 11F 123 12B 12F 137 13A 13C 13E "
                             "142 153 155 15B 15F 161 165 17A 17C 17E 491 FB01-FB02"),
    "upper_common": ranges("DE 386 388-38A 38C 38E-38F 391-3AB 401-42F"),
    "lower_common": ranges("3AC-3C9 430-45F"),
    "box": ranges("2502 250C 2510 2518 251C 2524 252C 253C 2550-256C 2580 2584 2588 258C 2590-2593"),
}


def union(*parts):
    out = set()
    for p in parts:
        out |= CAT[p] if p in CAT else chars(p)
    return frozenset(out)


LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
# Special steps the C++ matcher evaluates itself (Python re semantics on str).
SPACE, WORD, NOT_ASCII_LETTER, NOT_NEWLINE = "\\s", "\\w", "[^A-Za-z]", "."
SPECIALS = [SPACE, WORD, NOT_ASCII_LETTER, NOT_NEWLINE]

ACC = ("lower_accented", "upper_accented")
PUNCT = ("start_punct", "end_punct")
# The heuristic's patterns (ftfy/badness.py BADNESS_RE, one alternative each; a one-character class becomes a
# literal; "[a-z]\s?X" is written as two patterns). A leading "^" anchors at the start of the text.
PATTERNS = [
    [union("c1")],
    [union("bad", *ACC, "box", *PUNCT, "currency", "numeric", "law"), union("bad")],
    [union(LOWER + UPPER), union("lower_common", "upper_common"), union("bad")],
    [union("bad"), union(*ACC, "box", *PUNCT, "currency", "numeric", "law")],
    [union("lower_accented", "lower_common", "box", "end_punct", "currency", "numeric"), union("upper_accented")],
    [union("box", "end_punct", "currency", "numeric"), union("lower_accented")],
    [union("lower_accented", "box", "end_punct"), union("currency")],
    [SPACE, union("upper_accented"), union("currency")],
    [union("upper_accented", "box"), union("numeric", "law")],
    [union(*ACC, "box", "currency", "end_punct"), union("start_punct"), union("numeric")],
    [union(*ACC, "currency", "numeric", "box", "law"), union("end_punct"), union("start_punct")],
    [union("currency", "numeric", "box"), union("start_punct")],
    [union(LOWER), union("upper_accented"), union("start_punct", "currency")],
    [union("box"), union("kaomoji")],
    [union(*ACC, "currency", "numeric", *PUNCT, "law"), union("box")],
    [union("box"), union("end_punct")],
    [union(*ACC), union(*PUNCT), WORD],
    [union("\u0152\u0153"), NOT_ASCII_LETTER],
    [union("upper_accented"), union("\u00b0")],
    [union("\u00c2\u00c3\u00ce\u00d0"),
     union("\u20ac\u0153\u0160\u0161\u00a2\u00a3\u0178\u017e\u00a0\u00ad\u00ae\u00a9\u00b0\u00b7\u00bb",
           *PUNCT, "\u2013\u2014\u00b4")],
    [union("\u00d7"), union("\u00b2\u00b3")],
    [union("\u00d8\u00d9"), union("common", "currency", "bad", "numeric", "start_punct",
                                  "\u0178\u0160\u00ae\u00b0\u00b5\u00bb"),
     union("\u00d8\u00d9"), union("common", "currency", "bad", "numeric", "start_punct",
                                  "\u0178\u0160\u00ae\u00b0\u00b5\u00bb")],
    [union("\u00e0"), union("\u00b2\u00b5\u00b9\u00bc\u00bd\u00be")],
    [union("\u221a"), union("\u00b1\u2202\u2020\u2260\u00ae\u2122\u00b4\u2264\u2265\u00a5\u00b5\u00f8")],
    [union("\u2248"), union("\u00b0\u00a2")],
    [union("\u201a"), union("\u00c4"),
     union("\u00ec\u00ee\u00ef\u00f2\u00f4\u00fa\u00f9\u00fb\u2020\u00b0\u00a2\u03c0")],
    [union("\u201a"), union("\u00e2\u00f3"), union("\u00e0\u00e4\u00b0\u00ea")],
    [union("\u0432"), union("\u0402")],
    [union("\u0412\u0413\u0420\u0421"), union("c1", "bad", *PUNCT, "currency", "\u00b0\u00b5"),
     union("\u0412\u0413\u0420\u0421")],
    [union("\u0413"), union("\u045e"), union("\u0412"), union("\u0402"), union("\u0412"), NOT_NEWLINE,
     union(LOWER + UPPER + " ")],
    [union("\u00c3"), union("\u00a0\u00a1")],
    [union(LOWER), union("\u00c3\u00c2"), union(" ")],
    [union(LOWER), SPACE, union("\u00c3\u00c2"), union(" ")],
    ["^", union("\u00c3\u00c2"), union(" ")],
    [union(LOWER + ".,?!", "end_punct"), union("\u00c2"), union(" ", *PUNCT)],
    [union("\u03b2"), union("\u20ac"), union("\u2122\u00a0\u0386\u00ad\u00ae\u00b0")],
    [union("\u0392\u0393\u039e\u039f"), union("c1", "bad", *PUNCT, "currency", "\u00b0"),
     union("\u0392\u0393\u039e\u039f")],
    [union("\u0101"), union("\u20ac")],
]

CONTINUATION_NOT_STRICT = ranges("20 2013-2015 2018-201A 201C-201E 2022 2026")  # spaces, dashes, quotes, ...


def main():
    tables = [decoding_table(codec, sloppy) for _, codec, sloppy in ENCODINGS]

    clue = {
        "kUtf8Lead2": decoded_by(range(0xC2, 0xE0)),
        "kUtf8Lead3": decoded_by(range(0xE0, 0xF0)),
        "kUtf8Lead4": decoded_by([0xF0, 0xF3]),
    }
    cont = decoded_by(range(0x80, 0xC0)) | set(range(0x80, 0xC0))
    clue["kUtf8Continuation"] = cont | {0x20}
    clue["kUtf8ContinuationStrict"] = cont - CONTINUATION_NOT_STRICT
    class_sets = []  # distinct pattern classes, in order of first use
    for pat in PATTERNS:
        for step in pat:
            if isinstance(step, frozenset) and len(step) > 1 and step not in class_sets:
                class_sets.append(step)
    n_bits = len(clue) + len(class_sets)
    assert n_bits <= 64, n_bits
    masks = {}
    for bit, name in enumerate(clue):
        for cp in clue[name]:
            masks[cp] = masks.get(cp, 0) | (1 << bit)
    for i, s in enumerate(class_sets):
        for cp in s:
            masks[cp] = masks.get(cp, 0) | (1 << (len(clue) + i))

    lines = [
        "// GENERATED by tools/gen_ftfy_tables.py from Python %s (unicodedata %s); do not edit."
        % (sys.version.split()[0], unicodedata.unidata_version),
        "// Single-byte decoding tables, character classes and heuristic patterns for common/text/ftfy_encoding.cpp.",
        '#include "common/text/ftfy_tables.h"',
        "",
        "namespace kd::text {",
        "",
        "// ftfy's candidate encodings in the order it tries them; high[i] = code point byte 0x80 + i decodes to.",
        "const SingleByteEncoding kFtfyEncodings[kFtfyEncodingCount] = {",
    ]
    for (name, _, sloppy), table in zip(ENCODINGS, tables):
        lines.append('    {"%s", %s, {' % (name, "true" if sloppy else "false"))
        for i in range(0x80, 0x100, 8):
            lines.append("        " + " ".join("0x%X," % c for c in table[i:i + 8]))
        lines.append("    }},")
    lines += ["};", ""]
    lines.append("// Code point -> bit set of classes (bits 0..4: UTF-8 clues, then the pattern classes), sorted.")
    lines.append("const CharClassEntry kFtfyCharClasses[] = {")
    for cp in sorted(masks):
        lines.append("    {0x%X, 0x%XULL}," % (cp, masks[cp]))
    lines += ["};", "const size_t kFtfyCharClassCount = %d;" % len(masks), ""]
    lines.append("// The badness patterns; a step is a class bit, or one of the special steps (BadnessStep::Kind).")
    lines.append("const BadnessPattern kFtfyBadnessPatterns[] = {")
    kinds = {SPACE: "kSpace", WORD: "kWord", NOT_ASCII_LETTER: "kNotAsciiLetter", NOT_NEWLINE: "kNotNewline"}
    for pat in PATTERNS:
        anchored = pat[0] == "^"
        steps = pat[1:] if anchored else pat
        assert len(steps) <= 7
        out = []
        for step in steps:
            if isinstance(step, frozenset) and len(step) == 1:
                out.append("{BadnessStep::kLiteral, 0, 0x%X}" % next(iter(step)))
            elif isinstance(step, frozenset):
                out.append("{BadnessStep::kClass, %d, 0}" % (len(clue) + class_sets.index(step)))
            else:
                out.append("{BadnessStep::%s, 0, 0}" % kinds[step])
        lines.append("    {%s, %d, {%s}}," % ("true" if anchored else "false", len(steps), ", ".join(out)))
    lines += ["};", "const size_t kFtfyBadnessPatternCount = %d;" % len(PATTERNS), "",
              "}  // namespace kd::text", ""]
    with open(OUT, "w", encoding="ascii") as f:
        f.write("\n".join(lines))
    print("wrote", OUT, len(masks), "classified code points,", len(class_sets), "pattern classes,",
          len(PATTERNS), "patterns")


if __name__ == "__main__":
    main()
