// CLIP BPE tokenizer: golden ids against OpenAI's tokenizer (reference.safetensors), both vocabulary sources,
// truncation, invalid UTF-8, and malformed vocabulary files.
#include "common/clip/bpe_tokenizer.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;

// Minimal safetensors reader for this test only: u64 LE header length, JSON header, raw little-endian data.
std::vector<int32_t> read_i32_tensor(const fs::path& path, const std::string& name, std::vector<int64_t>* shape) {
  const std::string bytes = kd::read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  const auto& t = header.at(name);
  EXPECT_EQ(t.at("dtype"), "I32") << name;
  *shape = t.at("shape").get<std::vector<int64_t>>();
  const auto begin = t.at("data_offsets")[0].get<size_t>(), end = t.at("data_offsets")[1].get<size_t>();
  std::vector<int32_t> out((end - begin) / 4);
  std::memcpy(out.data(), bytes.data() + 8 + n + begin, end - begin);
  return out;
}

std::vector<std::string> read_captions(const fs::path& path) {  // one per line, only the trailing '\n' stripped
  std::vector<std::string> lines;
  std::istringstream in(kd::read_file(path));
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void expect_golden(const kd::BpeTokenizer& tok, const fs::path& shared) {
  const fs::path golden = shared / "golden/tiny-clip";
  const auto captions = read_captions(golden / "captions.txt");
  ASSERT_EQ(captions.size(), 46u);
  std::vector<int64_t> shape, nshape;
  const auto ref = read_i32_tensor(golden / "reference.safetensors", "tokens", &shape);
  const auto ref_n = read_i32_tensor(golden / "reference.safetensors", "n_tokens", &nshape);
  ASSERT_EQ(shape, (std::vector<int64_t>{46, 77}));
  ASSERT_EQ(nshape, (std::vector<int64_t>{46}));
  const kd::TokenBatch batch = tok.tokenize(captions, 77);
  ASSERT_EQ(batch.n, 46);
  ASSERT_EQ(batch.context_length, 77);
  int mismatched_rows = 0;
  for (int r = 0; r < 46; ++r) {
    int first_diff = -1;
    for (int c = 0; c < 77 && first_diff < 0; ++c) if (batch.tokens[r * 77 + c] != ref[r * 77 + c]) first_diff = c;
    if (first_diff >= 0 || batch.n_tokens[r] != ref_n[r]) {
      ++mismatched_rows;
      ADD_FAILURE() << "caption " << r << " '" << captions[r] << "': first differing position " << first_diff
                    << " (got " << (first_diff >= 0 ? batch.tokens[r * 77 + first_diff] : 0) << ", expected "
                    << (first_diff >= 0 ? ref[r * 77 + first_diff] : 0) << "), n_tokens got " << batch.n_tokens[r]
                    << " expected " << ref_n[r];
    }
  }
  EXPECT_EQ(mismatched_rows, 0) << "rows differing from OpenAI's tokenizer, out of 46";
}

void write_gz(const fs::path& path, const std::string& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  gzclose(f);
}

std::string gunzip(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(f);
  return out;
}

// Runs `f`, expects kd::Error whose message contains every one of `needles`.
template <typename F>
void expect_error(F f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no kd::Error thrown";
  } catch (const kd::Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

// Loading the vocabulary takes ~0.2 s; share one per source across tests.
const kd::BpeTokenizer& openai_tokenizer(const fs::path& shared) {
  static const kd::BpeTokenizer tok = kd::BpeTokenizer::from_openai_gz(shared / "clip/bpe_simple_vocab_16e6.txt.gz");
  return tok;
}

}  // namespace

TEST(BpeTokenizer, GoldenCaptionsFromOpenAiGz) {
  KD_REQUIRE_SHARED(shared);
  expect_golden(openai_tokenizer(shared), shared);
}

TEST(BpeTokenizer, GoldenCaptionsFromHfFiles) {
  KD_REQUIRE_SHARED(shared);
  const auto tok = kd::BpeTokenizer::load(shared / "golden/tiny-clip");  // folder with vocab.json + merges.txt
  expect_golden(tok, shared);
}

TEST(BpeTokenizer, BothSourcesGiveTheSameVocabulary) {
  KD_REQUIRE_SHARED(shared);
  const auto& a = openai_tokenizer(shared);
  const auto b = kd::BpeTokenizer::from_hf(shared / "golden/tiny-clip/vocab.json",
                                           shared / "golden/tiny-clip/merges.txt");
  ASSERT_EQ(a.vocab().size(), 49408u);
  ASSERT_EQ(b.vocab().size(), 49408u);
  size_t differing = 0;
  for (size_t i = 0; i < a.vocab().size(); ++i) differing += a.vocab()[i] != b.vocab()[i];
  EXPECT_EQ(differing, 0u) << "ids whose token differs between the .gz and vocab.json";
  EXPECT_EQ(a.token_id("<|startoftext|>"), kd::BpeTokenizer::kStartOfText);
  EXPECT_EQ(a.token_id("<|endoftext|>"), kd::BpeTokenizer::kEndOfText);
  EXPECT_EQ(a.token_id("!"), 0);
  EXPECT_EQ(a.token_id("!</w>"), 256);
}

TEST(BpeTokenizer, EncodeKnownWords) {
  KD_REQUIRE_SHARED(shared);
  const auto& tok = openai_tokenizer(shared);
  // From reference row 33 ("Hello, world!") and row 42 (literal special tokens survive cleaning).
  EXPECT_EQ(tok.encode("Hello, world!"), (std::vector<int32_t>{3306, 267, 1002, 256}));
  EXPECT_EQ(tok.encode("<|startoftext|>"), (std::vector<int32_t>{49406}));
  EXPECT_TRUE(tok.encode("").empty());
  EXPECT_TRUE(tok.encode(" \t\n ").empty());
}

TEST(BpeTokenizer, SplitFollowsTheClipRegex) {
  using V = std::vector<std::string>;
  EXPECT_EQ(kd::BpeTokenizer::split_words("i'm sure it's"), (V{"i", "'m", "sure", "it", "'s"}));
  EXPECT_EQ(kd::BpeTokenizer::split_words("$5.99!!! a1"), (V{"$", "5", ".", "9", "9", "!!!", "a", "1"}));
  EXPECT_EQ(kd::BpeTokenizer::split_words("!!<|endoftext|>x"), (V{"!!<|", "endoftext", "|>", "x"}));
  EXPECT_EQ(kd::BpeTokenizer::split_words("''s caf\xC3\xA9"), (V{"''", "s", "caf\xC3\xA9"}));
  EXPECT_EQ(kd::BpeTokenizer::split_words("\xC5\xBF'\xC5\xBF"), (V{"\xC5\xBF", "'\xC5\xBF"}));  // ſ folds to s
}

TEST(BpeTokenizer, CleaningLikeOpenAi) {
  EXPECT_EQ(kd::BpeTokenizer::clean_text("  A PHOTO of \t a Cat!  "), "a photo of a cat!");
  EXPECT_EQ(kd::BpeTokenizer::clean_text("&amp;amp;amp;amp;"), "&");  // ftfy unescapes to a fixed point first
  EXPECT_EQ(kd::BpeTokenizer::clean_text("<b> &amp;amp;amp;"), "<b> &amp;");  // '<': only the two html.unescape
  EXPECT_EQ(kd::BpeTokenizer::clean_text("\xE2\x80\x9CQuoted\xE2\x80\x9D \xEF\xAC\x81ne"), "\"quoted\" fine");
  EXPECT_EQ(kd::BpeTokenizer::clean_text("Cafe\xCC\x81"), "caf\xC3\xA9");  // NFC
}

TEST(BpeTokenizer, TruncatesAndPadsLikeOpenAi) {
  KD_REQUIRE_SHARED(shared);
  const auto& tok = openai_tokenizer(shared);
  const auto batch = tok.tokenize({"Hello, world!", "a b c d e f g", ""}, 6);
  ASSERT_EQ(batch.tokens.size(), 18u);
  EXPECT_EQ(std::vector<int32_t>(batch.tokens.begin(), batch.tokens.begin() + 6),
            (std::vector<int32_t>{49406, 3306, 267, 1002, 256, 49407}));
  EXPECT_EQ(batch.n_tokens[0], 6);
  EXPECT_EQ(batch.n_tokens[1], 9);
  EXPECT_EQ(batch.tokens[6 + 5], 49407);  // last kept position is EOT
  EXPECT_EQ(std::vector<int32_t>(batch.tokens.begin() + 12, batch.tokens.end()),
            (std::vector<int32_t>{49406, 49407, 0, 0, 0, 0}));
  EXPECT_EQ(batch.n_tokens[2], 2);
  EXPECT_THROW(tok.tokenize({"x"}, 0), kd::Error);
}

TEST(BpeTokenizer, InvalidUtf8BecomesReplacementCharacters) {
  KD_REQUIRE_SHARED(shared);
  const auto& tok = openai_tokenizer(shared);
  const std::string fffd = "\xEF\xBF\xBD";
  // Python: b'dog\xff\xfe cat'.decode('utf-8', 'replace') == 'dog\ufffd\ufffd cat'.
  EXPECT_EQ(tok.encode("dog\xFF\xFE cat"), tok.encode("dog" + fffd + fffd + " cat"));
  // A cut-short sequence is one maximal subpart: b'\xe2\x82x' -> '\ufffdx'.
  EXPECT_EQ(tok.encode("\xE2\x82x"), tok.encode(fffd + "x"));
  // Encoded surrogate: three replacements.
  EXPECT_EQ(tok.encode("\xED\xA0\x80"), tok.encode(fffd + fffd + fffd));
  std::string every_byte;
  for (int b = 255; b >= 0; --b) every_byte.push_back(static_cast<char>(b));
  EXPECT_NO_THROW(tok.tokenize({every_byte, std::string("\0\0", 2)}));
}

TEST(BpeTokenizer, EncodeIsThreadSafe) {
  KD_REQUIRE_SHARED(shared);
  const auto tok = kd::BpeTokenizer::from_hf(shared / "golden/tiny-clip/vocab.json",
                                             shared / "golden/tiny-clip/merges.txt");  // fresh, empty cache
  const auto captions = read_captions(shared / "golden/tiny-clip/captions.txt");
  std::vector<std::vector<int32_t>> a(captions.size()), b(captions.size());
  std::thread t1([&] { for (size_t i = 0; i < captions.size(); ++i) a[i] = tok.encode(captions[i]); });
  std::thread t2([&] { for (size_t i = captions.size(); i-- > 0;) b[i] = tok.encode(captions[i]); });
  t1.join();
  t2.join();
  EXPECT_EQ(a, b);
}

TEST(BpeTokenizer, MalformedVocabularyFilesNameFileAndLine) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir dir("kd-bpe");
  const fs::path gz = shared / "clip/bpe_simple_vocab_16e6.txt.gz";
  expect_error([&] { kd::BpeTokenizer::from_openai_gz(dir / "missing.gz"); }, {"missing.gz", "not found"});
  expect_error([&] { kd::BpeTokenizer::load(dir / "vocab.txt"); }, {"vocab.txt"});

  const std::string text = gunzip(gz);
  const size_t cut = [&] {  // end of line 1000 (0-based line index 999)
    size_t p = 0;
    for (int i = 0; i < 1000; ++i) p = text.find('\n', p) + 1;
    return p;
  }();
  write_gz(dir / "short.gz", text.substr(0, cut));
  expect_error([&] { kd::BpeTokenizer::from_openai_gz(dir / "short.gz"); }, {"short.gz", "truncated", "48894"});

  std::string bad = text;
  bad.insert(cut, "x y z\n");  // becomes line 1001 (index 1000)
  write_gz(dir / "bad.gz", bad);
  expect_error([&] { kd::BpeTokenizer::from_openai_gz(dir / "bad.gz"); }, {"bad.gz:1001", "bad merge line"});

  const std::string gz_bytes = kd::read_file(gz);
  kd::write_file_atomic(dir / "cut.gz", gz_bytes.substr(0, gz_bytes.size() / 2));
  expect_error([&] { kd::BpeTokenizer::from_openai_gz(dir / "cut.gz"); }, {"cut.gz"});

  // HF files: bad JSON, wrong merge count, bad merge line, missing file.
  const fs::path hf = shared / "golden/tiny-clip";
  const std::string vocab = kd::read_file(hf / "vocab.json"), merges = kd::read_file(hf / "merges.txt");
  kd::write_file_atomic(dir / "v_bad.json", vocab.substr(0, vocab.size() - 10));
  expect_error([&] { kd::BpeTokenizer::from_hf(dir / "v_bad.json", hf / "merges.txt"); }, {"v_bad.json", "bad JSON"});
  kd::write_file_atomic(dir / "m_short.txt", merges.substr(0, merges.size() / 2));
  expect_error([&] { kd::BpeTokenizer::from_hf(hf / "vocab.json", dir / "m_short.txt"); },
               {"m_short.txt", "wrong number of merges"});
  std::string m_bad = merges;
  const size_t line3 = m_bad.find('\n', m_bad.find('\n') + 1) + 1;  // start of line 3
  m_bad.insert(line3, "onlyone\n");
  m_bad.resize(m_bad.rfind('\n', m_bad.size() - 2) + 1);  // drop the last merge to keep the count
  kd::write_file_atomic(dir / "m_bad.txt", m_bad);
  expect_error([&] { kd::BpeTokenizer::from_hf(hf / "vocab.json", dir / "m_bad.txt"); }, {"m_bad.txt:3", "bad merge"});
  expect_error([&] { kd::BpeTokenizer::from_hf(dir / "nope.json", hf / "merges.txt"); }, {"nope.json", "not found"});
  kd::write_file_atomic(dir / "v_arr.json", "[1, 2]");
  expect_error([&] { kd::BpeTokenizer::from_hf(dir / "v_arr.json", hf / "merges.txt"); }, {"v_arr.json"});
}
