#!/usr/bin/python3
"""Generated caption-like strings for the tokenizer's text-cleaning differential test
(tests/ftfy_differential_test.cpp): mixed scripts, emoji, HTML entities, full-width forms, ligatures, curly quotes,
control characters and mis-decoded UTF-8 (mojibake through ten single-byte encodings, lossy, double, partial).

  python3 tests/ftfy_cases.py inputs
      prints the cases as JSON lines {"id", "kind", "in"} (seeded: the same on every run and Python 3.x).
  python3 tests/ftfy_cases.py record --ftfy DIR --clip DIR --bpe FILE > tests/data/ftfy_cases.jsonl
      also runs the reference on every case and adds "ftfy" (ftfy.fix_text(in)) and "tokens" (OpenAI's
      SimpleTokenizer().encode(in), without SOT/EOT). DIR are source checkouts put on sys.path: ftfy 6.3.1
      (github.com/rspeer/python-ftfy, tag v6.3.1; pure Python) and OpenAI's CLIP (github.com/openai/CLIP, whose
      clip/simple_tokenizer.py is loaded by path so that torch is not needed); SimpleTokenizer needs the `regex`
      package. Neither is packaged in Debian 12, so the recorded outputs are committed and the test only reads them.
"""
import argparse
import importlib.util
import json
import random
import sys

SEED = 19
N_CASES = 2000

WORDS = {
    "en": "a photo of the cat dog sitting on red wooden bench near river with two people and bicycle".split(),
    "fr": "café crème déjà vu naïve élève garçon où à la mode très bientôt hôtel forêt noël".split(),
    "de": "Straße Größe Mädchen über schön Fußgänger Bücher Äpfel Öl Übung weiß".split(),
    "es": "niño año señor mañana corazón canción jalapeño ¿qué? ¡hola! árbol útil".split(),
    "pt": "São Paulo coração não irmã às àquele pão ação informação avô".split(),
    "cs": "Čeština příliš žluťoučký kůň úpěl ďábelské ódy řeka".split(),
    "pl": "Łódź zażółć gęślą jaźń Kraków świętokrzyskie źródło".split(),
    "tr": "İstanbul ığdır şeker çiçek öğretmen güzel Ağrı".split(),
    "el": "γάτα σκύλος Αθήνα καλημέρα ελληνικά Ωραία θάλασσα ψυχή".split(),
    "ru": "кошка собака Москва привет спасибо улица Ёлка щука".split(),
    "uk": "Київ їжак ґанок європа дякую".split(),
    "ar": "قطة كلب مرحبا شكرا القاهرة سيارة".split(),
    "he": "חתול כלב שלום תודה ירושלים".split(),
    "zh": "猫 狗 你好 谢谢 北京 天气 很好 中文".split(),
    "ja": "ねこ いぬ こんにちは ありがとう 東京 カタカナ ラーメン".split(),
    "ko": "고양이 강아지 안녕하세요 감사합니다 서울".split(),
    "hi": "बिल्ली कुत्ता नमस्ते धन्यवाद दिल्ली".split(),
    "th": "แมว สุนัข สวัสดี ขอบคุณ กรุงเทพ".split(),
    "vi": "mèo chó xin chào cảm ơn Hà Nội Việt Nam".split(),
}
EMOJI = ["\U0001F600", "\U0001F431", "\U0001F436", "\u2764\ufe0f", "\U0001F44D\U0001F3FD", "\U0001F1EF\U0001F1F5",
         "\U0001F468\u200D\U0001F469\u200D\U0001F467", "1\ufe0f\u20e3", "\u2615", "\U0001F308", "\u2728",
         "\U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F", "\u263a", "\U0001F914"]
ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x2019;", "&eacute;", "&EACUTE;", "&nbsp;", "&hellip;",
            "&mdash;", "&amp;amp;", "&notit;", "AT&T", "&#128512;", "&#65abc;", "&amp", "&Ntilde;", "&NTILDE;",
            "&nTILDE;", "&copy;", "&#0;", "&#x80;", "&SZLIG;", "&checkmark;", "& ", "&#xD800;"]
LIGATURES = ["\ufb01", "\ufb02", "\ufb00", "\ufb03", "\ufb04", "\ufb05", "\ufb06", "\u0132", "\u0133", "\u01c6",
             "\u01f1", "\u01f2", "\u01f3", "\u01c9", "\u01cc", "\u0149", "\u00e6", "\u0153"]
PUNCT = ["\u2018", "\u2019", "\u201c", "\u201d", "\u201a", "\u201e", "\u2032", "\u2033", "\u02bc", "\u2013",
         "\u2014", "\u2026", "\u00ab", "\u00bb", "\u2022", "\u00b7", "\u00a0", "\u2009", "\u200b"]
CONTROLS = ["\x1b[31m", "\x1b[0m", "\x01", "\x7f", "\ufeff", "\u0085", "\u0093", "\u0094", "\u0081", "\r\n", "\r",
            "\u2028", "\u2029", "\t", "\x0b", "\u206a", "\ufffc", "\ufffd", "\x1a"]
NEGATIVE = ["(\u256f\u00b0\u25a1\u00b0)\u256f\ufe35 \u253b\u2501\u253b", "\u00af\\_(\u30c4)_/\u00af", "25\u00b0C",
            "\u00bd cup", "\u00a92020", "Brand\u2122", "x \u2264 y \u2260 z", "\u221a2 \u2248 1.41", "5 \u00d7 3",
            "\u00c3 la", "M\u00fcller", "\u00c5ngstr\u00f6m", "na\u00efve", "\u00bfQu\u00e9?",
            "\u039c\u03ac\u03b9\u03bf\u03c2", "\u0410\u00b0\u0411", "\u00ea\u00e8\u00e9", "IV\u2162", "\u00b5m",
            "\u00a3100", "\u20ac5", "caf\u00e9\u00b4s", "\u2554\u2550\u2557", "\u00c2\u00b0", "\u00d8resund",
            "\u00e0\u00b2"]

# Encodings mojibake is made with: (name, Python codec, sloppy: undefined bytes decode as Latin-1).
MOJIBAKE_CODECS = [("latin-1", "latin-1", False), ("windows-1252", "cp1252", True),
                   ("windows-1251", "cp1251", True), ("windows-1250", "cp1250", True),
                   ("windows-1253", "cp1253", True), ("windows-1254", "cp1254", True),
                   ("windows-1257", "cp1257", True), ("iso-8859-2", "iso-8859-2", False),
                   ("macroman", "mac-roman", False), ("cp437", "cp437", False)]


def misdecode(text, codec, sloppy, lossy=False):
    """text's UTF-8 bytes decoded as `codec`; undefined bytes as Latin-1 (sloppy), or U+FFFD (lossy)."""
    out = []
    for b in text.encode("utf-8"):
        try:
            out.append(bytes([b]).decode(codec))
        except UnicodeDecodeError:
            out.append("\ufffd" if lossy else (chr(b) if sloppy else "?"))
    return "".join(out)


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


def halfwidth_katakana(rng):
    return "".join(rng.choice("\uff76\uff80\uff76\uff85\uff71\uff72\uff73\uff9e\uff9f\uff70") for _ in range(4))


def decomposed(s):
    import unicodedata
    return unicodedata.normalize("NFD", s)


def phrase(rng, langs=None, n=None):
    langs = langs or list(WORDS)
    n = n or rng.randint(2, 6)
    return " ".join(rng.choice(WORDS[rng.choice(langs)]) for _ in range(n))


def mojibake_case(rng):
    clean = phrase(rng, n=rng.randint(1, 5))
    if rng.random() < 0.3:
        clean += " " + rng.choice(EMOJI + PUNCT[:12])
    name, codec, sloppy = rng.choice(MOJIBAKE_CODECS)
    style = rng.choice(["plain", "plain", "lossy", "double", "nbsp", "partial", "partial", "upper", "entity"])
    if style == "lossy" and not sloppy:
        style = "plain"
    if style == "double":
        once = misdecode(clean, codec, sloppy)
        return "mojibake-double-" + name, misdecode(once, "cp1252", True)
    bad = misdecode(clean, codec, sloppy, lossy=style == "lossy")
    if style == "nbsp":
        bad = bad.replace("\u00a0", " ")
    elif style == "partial":
        bad = phrase(rng, n=2) + " " + bad + " " + rng.choice([phrase(rng, n=2), rng.choice(NEGATIVE)])
    elif style == "upper":
        bad = bad.upper()
    elif style == "entity":
        bad = bad.replace(rng.choice(bad), rng.choice(ENTITIES[:6]), 1)
    return "mojibake-%s-%s" % (style, name), bad


def mixed_case(rng):
    parts = []
    for _ in range(rng.randint(2, 5)):
        r = rng.random()
        if r < 0.30:
            parts.append(phrase(rng, n=rng.randint(1, 3)))
        elif r < 0.40:
            parts.append(rng.choice(EMOJI))
        elif r < 0.52:
            parts.append(rng.choice(ENTITIES))
        elif r < 0.60:
            parts.append(fullwidth(phrase(rng, ["en"], 2)) if rng.random() < 0.7 else halfwidth_katakana(rng))
        elif r < 0.68:
            parts.append(rng.choice(LIGATURES) + rng.choice(WORDS["en"]))
        elif r < 0.78:
            parts.append(rng.choice(PUNCT) + rng.choice(WORDS["en"]) + rng.choice(PUNCT))
        elif r < 0.86:
            parts.append(rng.choice(CONTROLS) + rng.choice(WORDS["fr"]))
        elif r < 0.92:
            parts.append(decomposed(rng.choice(WORDS["fr"] + WORDS["vi"] + WORDS["ko"])))
        else:
            parts.append(rng.choice(NEGATIVE))
    sep = rng.choice([" ", " ", ", ", " - ", "", "\n", " <b>"])
    return "mixed", sep.join(parts)


def cases():
    rng = random.Random(SEED)
    out = []
    for i in range(N_CASES):
        r = rng.random()
        if r < 0.45:
            kind, text = mojibake_case(rng)
        elif r < 0.90:
            kind, text = mixed_case(rng)
        else:
            kind, text = "negative", rng.choice(NEGATIVE) + " " + phrase(rng, n=2)
        out.append({"id": i, "kind": kind, "in": text})
    return out


def load_reference(ftfy_dir, clip_dir, bpe):
    sys.path.insert(0, ftfy_dir)
    import ftfy
    assert ftfy.__version__ == "6.3.1", ftfy.__version__
    spec = importlib.util.spec_from_file_location("simple_tokenizer", clip_dir + "/clip/simple_tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return ftfy.fix_text, module.SimpleTokenizer(bpe)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["inputs", "record"])
    ap.add_argument("--ftfy")
    ap.add_argument("--clip")
    ap.add_argument("--bpe")
    args = ap.parse_args()
    fix_text = tokenizer = None
    if args.mode == "record":
        fix_text, tokenizer = load_reference(args.ftfy, args.clip, args.bpe)
    for case in cases():
        if fix_text:
            case["ftfy"] = fix_text(case["in"])
            case["tokens"] = tokenizer.encode(case["in"])
        sys.stdout.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
