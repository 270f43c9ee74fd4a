// CLIP's BPE tokenizer (see bpe_tokenizer.h): vocabulary loading and validation, the split scan, BPE, batching.
#include "common/clip/bpe_tokenizer.h"

#include <zlib.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/text/ftfy_fix.h"
#include "common/text/html_unescape.h"
#include "common/text/unicode_text.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {

namespace fs = std::filesystem;
using text::append_utf8;

struct BpeTokenizer::Cache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int32_t>> words;  // piece (UTF-8) -> ids
};

namespace {

constexpr const char* kSotToken = "<|startoftext|>";
constexpr const char* kEotToken = "<|endoftext|>";

// OpenAI's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100.. in
// byte order. Returns the code points in OpenAI's dict order (printable bytes first), paired with their bytes.
std::vector<std::pair<int, char32_t>> bytes_to_unicode() {
  std::vector<std::pair<int, char32_t>> out;
  bool printable[256] = {};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  for (int b = 0; b < 256; ++b) if (printable[b]) out.emplace_back(b, static_cast<char32_t>(b));
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) if (!printable[b]) out.emplace_back(b, next++);
  return out;
}

std::string utf8_of(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

std::string line_ref(const fs::path& path, size_t line_index) {  // "file:N", N 1-based
  return path.string() + ":" + std::to_string(line_index + 1);
}

std::vector<std::string> split_lines(const std::string& data) {  // Python str.split('\n')
  std::vector<std::string> lines;
  size_t pos = 0;
  for (;;) {
    const size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) { lines.push_back(data.substr(pos)); break; }
    lines.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

// One merge line "a b" -> (a, b), split on whitespace like Python's str.split(); throws naming file:line.
std::pair<std::string, std::string> parse_merge(const std::string& line, const fs::path& path, size_t index) {
  if (!text::is_valid_utf8(line)) throw Error("merge line is not valid UTF-8").file(line_ref(path, index));
  const std::u32string u = text::decode_utf8_replace(line);
  std::vector<std::u32string> parts;
  std::u32string cur;
  for (char32_t c : u) {
    if (text::is_python_space(c)) {
      if (!cur.empty()) parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) parts.push_back(std::move(cur));
  if (parts.size() != 2) {
    throw Error("bad merge line").file(line_ref(path, index)).expected("two tokens 'a b'")
        .got(std::to_string(parts.size()) + " token(s): '" + line.substr(0, 80) + "'");
  }
  return {text::encode_utf8(parts[0]), text::encode_utf8(parts[1])};
}

std::string read_gzip(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("BPE vocabulary file not found").file(path.string());
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open gzip file").file(path.string());
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      throw Error("cannot decompress gzip file").file(path.string()).got(msg);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  const int rc = gzclose(f);
  if (rc != Z_OK) throw Error("gzip file is truncated or corrupt").file(path.string()).got("zlib code " + std::to_string(rc));
  return out;
}

}  // namespace

BpeTokenizer::BpeTokenizer() : cache_(std::make_unique<Cache>()) {
  for (const auto& [b, cp] : bytes_to_unicode()) byte_encoder_[b] = utf8_of(cp);
}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer BpeTokenizer::from_openai_gz(const fs::path& path) {
  const std::string data = read_gzip(path);
  if (!text::is_valid_utf8(data)) throw Error("BPE vocabulary is not valid UTF-8").file(path.string());
  const std::vector<std::string> lines = split_lines(data);
  if (lines.empty() || lines[0].find("#version") == std::string::npos) {
    throw Error("missing version header line").file(line_ref(path, 0)).expected("a line containing '#version'")
        .got("'" + (lines.empty() ? std::string() : lines[0].substr(0, 80)) + "'");
  }
  if (lines.size() < static_cast<size_t>(kNumMerges) + 1) {
    throw Error("BPE vocabulary is truncated").file(path.string())
        .expected(std::to_string(kNumMerges) + " merge lines after the header")
        .got(std::to_string(lines.size() - 1) + " lines");
  }
  BpeTokenizer t;
  for (const auto& [b, cp] : bytes_to_unicode()) t.id_to_token_.push_back(utf8_of(cp));
  for (const auto& [b, cp] : bytes_to_unicode()) t.id_to_token_.push_back(utf8_of(cp) + "</w>");
  for (size_t i = 1; i <= static_cast<size_t>(kNumMerges); ++i) {
    auto [a, b] = parse_merge(lines[i], path, i);
    t.id_to_token_.push_back(a + b);
    if (!t.merge_ranks_.emplace(a + " " + b, static_cast<int32_t>(i - 1)).second) {
      throw Error("duplicate merge").file(line_ref(path, i)).got("'" + lines[i] + "'");
    }
  }
  t.id_to_token_.push_back(kSotToken);
  t.id_to_token_.push_back(kEotToken);
  for (size_t id = 0; id < t.id_to_token_.size(); ++id) {
    if (!t.encoder_.emplace(t.id_to_token_[id], static_cast<int32_t>(id)).second) {
      const std::string where = id >= 512 && id < 512 + kNumMerges ? line_ref(path, id - 512 + 1) : path.string();
      throw Error("merge produces a token already in the vocabulary").file(where).got("'" + t.id_to_token_[id] + "'");
    }
  }
  for (size_t i = 1; i <= static_cast<size_t>(kNumMerges); ++i) {  // every merge's parts must be tokens
    auto [a, b] = parse_merge(lines[i], path, i);
    if (!t.encoder_.count(a) || !t.encoder_.count(b)) {
      throw Error("merge uses a token that is not in the vocabulary").file(line_ref(path, i)).got("'" + lines[i] + "'");
    }
  }
  t.sot_ = t.encoder_.at(kSotToken);
  t.eot_ = t.encoder_.at(kEotToken);
  return t;
}

BpeTokenizer BpeTokenizer::from_hf(const fs::path& vocab_json, const fs::path& merges_txt) {
  std::error_code ec;
  if (!fs::is_regular_file(vocab_json, ec)) throw Error("vocab.json not found").file(vocab_json.string());
  if (!fs::is_regular_file(merges_txt, ec)) throw Error("merges.txt not found").file(merges_txt.string());
  BpeTokenizer t;

  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(read_file(vocab_json));
  } catch (const nlohmann::json::exception& e) {
    throw Error("bad JSON").file(vocab_json.string()).got(e.what());
  }
  if (!vocab.is_object()) throw Error("vocab.json must be an object token -> id").file(vocab_json.string());
  const size_t n = vocab.size();
  t.id_to_token_.assign(n, std::string());
  std::vector<bool> seen(n, false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) {
      throw Error("token id is not an integer").file(vocab_json.string()).key(it.key()).got(it.value().dump());
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(n) || seen[id]) {
      throw Error("token ids must be unique and in [0, n)").file(vocab_json.string()).key(it.key())
          .expected("[0, " + std::to_string(n) + ")").got(std::to_string(id) + (id >= 0 && id < int64_t(n) ? " (repeated)" : ""));
    }
    seen[id] = true;
    t.id_to_token_[id] = it.key();
    t.encoder_.emplace(it.key(), static_cast<int32_t>(id));
  }
  for (const auto& [b, cp] : bytes_to_unicode()) {
    for (const std::string& tok : {utf8_of(cp), utf8_of(cp) + "</w>"}) {
      if (!t.encoder_.count(tok)) throw Error("byte token missing from vocab.json").file(vocab_json.string()).key(tok);
    }
  }
  for (const char* special : {kSotToken, kEotToken}) {
    if (!t.encoder_.count(special)) throw Error("special token missing").file(vocab_json.string()).key(special);
  }

  std::string data = read_file(merges_txt);
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r' || data.back() == ' ')) data.pop_back();
  const std::vector<std::string> lines = split_lines(data);
  if (lines.empty() || lines[0].rfind("#version", 0) != 0) {
    throw Error("missing '#version' header line").file(line_ref(merges_txt, 0))
        .got("'" + (lines.empty() ? std::string() : lines[0].substr(0, 80)) + "'");
  }
  const size_t expected = n >= 514 ? n - 514 : 0;  // vocab = 256 bytes, 256 word-final bytes, merges, 2 specials
  if (lines.size() - 1 != expected) {
    throw Error("merges.txt has the wrong number of merges for vocab.json").file(merges_txt.string())
        .expected(std::to_string(expected) + " (vocab size " + std::to_string(n) + " - 514)")
        .got(std::to_string(lines.size() - 1));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    auto [a, b] = parse_merge(lines[i], merges_txt, i);
    if (!t.encoder_.count(a) || !t.encoder_.count(b) || !t.encoder_.count(a + b)) {
      throw Error("merge uses or makes a token that is not in vocab.json").file(line_ref(merges_txt, i))
          .got("'" + lines[i] + "'");
    }
    if (!t.merge_ranks_.emplace(a + " " + b, static_cast<int32_t>(i - 1)).second) {
      throw Error("duplicate merge").file(line_ref(merges_txt, i)).got("'" + lines[i] + "'");
    }
  }
  t.sot_ = t.encoder_.at(kSotToken);
  t.eot_ = t.encoder_.at(kEotToken);
  return t;
}

BpeTokenizer BpeTokenizer::load(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return from_hf(path / "vocab.json", path / "merges.txt");
  if (path.extension() == ".gz") return from_openai_gz(path);
  throw Error("not a tokenizer: expected a .gz BPE file or a folder with vocab.json and merges.txt")
      .file(path.string());
}

std::vector<std::string> BpeTokenizer::merges() const {
  std::vector<std::string> out(merge_ranks_.size());
  for (const auto& [pair, rank] : merge_ranks_) out.at(static_cast<size_t>(rank)) = pair;
  return out;
}

std::string BpeTokenizer::byte_symbol(uint8_t byte) {
  for (const auto& [b, cp] : bytes_to_unicode()) {
    if (b == byte) return utf8_of(cp);
  }
  return {};  // unreachable: the table covers every byte
}

int32_t BpeTokenizer::token_id(const std::string& token) const {
  auto it = encoder_.find(token);
  return it == encoder_.end() ? -1 : it->second;
}

std::string BpeTokenizer::clean_text(std::string_view raw) {
  std::u32string s = text::ftfy_fix_text(text::decode_utf8_replace(raw));  // ftfy.fix_text
  s = text::html_unescape(text::html_unescape(s));                         // html.unescape twice
  const std::u32string_view stripped = text::python_strip(s);              // basic_clean's strip()
  std::u32string collapsed;                                                // re.sub(r'\s+', ' ', text)
  collapsed.reserve(stripped.size());
  for (size_t i = 0; i < stripped.size();) {
    if (text::is_white_space(stripped[i])) {
      collapsed.push_back(U' ');
      while (i < stripped.size() && text::is_white_space(stripped[i])) ++i;
    } else {
      collapsed.push_back(stripped[i++]);
    }
  }
  return text::encode_utf8(text::python_lower(text::python_strip(collapsed)));  // .strip(), then .lower()
}

namespace {

// Does `s` at `i` spell `lit` (ASCII, lower case) under re.IGNORECASE? Only U+017F folds onto a lower-case ASCII
// letter of these literals ('s') without being that letter.
bool match_literal(std::u32string_view s, size_t i, std::string_view lit) {
  if (s.size() - i < lit.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k) {
    const char32_t c = s[i + k];
    if (c != static_cast<char32_t>(lit[k]) && !(lit[k] == 's' && c == 0x17F)) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> BpeTokenizer::split_words(std::string_view cleaned) {
  static constexpr std::string_view kLiterals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                                   "'ve",             "'m",            "'ll", "'d"};
  const std::u32string s = text::decode_utf8_replace(cleaned);
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = i;
    for (std::string_view lit : kLiterals) {
      if (match_literal(s, i, lit)) { end = i + lit.size(); break; }
    }
    if (end == i) {
      if (text::is_letter(s[i])) {  // [\p{L}]+
        while (end < s.size() && text::is_letter(s[end])) ++end;
      } else if (text::is_number(s[i])) {  // [\p{N}]
        end = i + 1;
      } else if (!text::is_white_space(s[i])) {  // [^\s\p{L}\p{N}]+
        while (end < s.size() && !text::is_white_space(s[end]) && !text::is_letter(s[end]) &&
               !text::is_number(s[end])) {
          ++end;
        }
      } else {  // whitespace: no alternative matches here
        ++i;
        continue;
      }
    }
    words.push_back(text::encode_utf8(std::u32string_view(s).substr(i, end - i)));
    i = end;
  }
  return words;
}

void BpeTokenizer::bpe(const std::string& piece, std::vector<int32_t>& out) const {
  if (piece == kSotToken) { out.push_back(sot_); return; }  // OpenAI seeds its cache with the two specials
  if (piece == kEotToken) { out.push_back(eot_); return; }
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    auto it = cache_->words.find(piece);
    if (it != cache_->words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::string> word;  // symbols; the last carries '</w>'
  word.reserve(piece.size());
  for (unsigned char b : piece) word.push_back(byte_encoder_[b]);
  if (word.empty()) return;
  word.back() += "</w>";
  std::string key;
  while (word.size() > 1) {
    int32_t best = -1;
    size_t best_at = 0;
    for (size_t k = 0; k + 1 < word.size(); ++k) {
      key.assign(word[k]).append(" ").append(word[k + 1]);
      auto it = merge_ranks_.find(key);
      if (it != merge_ranks_.end() && (best < 0 || it->second < best)) { best = it->second; best_at = k; }
    }
    if (best < 0) break;
    const std::string first = word[best_at], second = word[best_at + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (size_t k = 0; k < word.size();) {  // merge every (first, second), left to right
      if (k + 1 < word.size() && word[k] == first && word[k + 1] == second) {
        merged.push_back(first + second);
        k += 2;
      } else {
        merged.push_back(std::move(word[k]));
        k += 1;
      }
    }
    word = std::move(merged);
  }
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  for (const std::string& sym : word) {
    auto it = encoder_.find(sym);
    if (it == encoder_.end()) throw Error("BPE produced a token missing from the vocabulary").key(sym);
    ids.push_back(it->second);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->words.size() < kMaxCacheEntries) cache_->words.emplace(piece, std::move(ids));
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  for (const std::string& piece : split_words(clean_text(text))) bpe(piece, ids);
  return ids;
}

TokenBatch BpeTokenizer::tokenize(const std::vector<std::string>& texts, int context_length) const {
  if (context_length < 1) {
    throw Error("context length must be at least 1").got(std::to_string(context_length));
  }
  TokenBatch batch;
  batch.n = static_cast<int64_t>(texts.size());
  batch.context_length = context_length;
  batch.tokens.assign(texts.size() * static_cast<size_t>(context_length), 0);
  batch.n_tokens.resize(texts.size());
  for (size_t r = 0; r < texts.size(); ++r) {
    std::vector<int32_t> ids;
    ids.push_back(sot_);
    for (const std::string& piece : split_words(clean_text(texts[r]))) bpe(piece, ids);
    ids.push_back(eot_);
    batch.n_tokens[r] = static_cast<int32_t>(ids.size());
    if (ids.size() > static_cast<size_t>(context_length)) {  // truncate=True
      ids.resize(context_length);
      ids.back() = eot_;
    }
    std::copy(ids.begin(), ids.end(), batch.tokens.begin() + static_cast<std::ptrdiff_t>(r * context_length));
  }
  return batch;
}

}  // namespace kd
