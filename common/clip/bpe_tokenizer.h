// CLIP's byte-level BPE tokenizer: an exact port of OpenAI's clip/simple_tokenizer.py (text cleaning, split regex,
// byte-to-unicode table, BPE merges), loading either OpenAI's bpe_simple_vocab_16e6.txt.gz or HF vocab.json+merges.txt.
//
// Text pipeline (what SimpleTokenizer.encode does, in order), on the caption's UTF-8 bytes:
//   1. decode UTF-8 like bytes.decode('utf-8', 'replace'): each maximal ill-formed subpart -> one U+FFFD, so
//      invalid input never throws and never crashes (U+FFFD then tokenizes like any other character);
//   2. ftfy.fix_text (6.3.1 defaults, common/text/ftfy_fix.h: entities, mojibake repair, quotes, widths, NFC, ...);
//   3. html.unescape twice (Python semantics, common/text/html_unescape.h); strip;
//   4. collapse runs of Unicode whitespace to ' ', strip; 5. str.lower();
//   6. split with <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//      (IGNORECASE: 's' also matches U+017F LATIN SMALL LETTER LONG S, the one lowercase letter folding to s),
//      scanned by hand with utf8proc categories;
//   7. each piece -> its UTF-8 bytes -> byte-to-unicode characters -> BPE by merge rank -> ids.
// Thread safety: encode/tokenize are const and safe to call from several threads at once; the per-word BPE cache
// lives in the object behind a mutex (bounded at kMaxCacheEntries words; past that, words are not cached).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kd {

// Token ids of N texts, padded/truncated to one context length.
struct TokenBatch {
  std::vector<int32_t> tokens;    // [n, context_length] row-major int32: SOT, ids..., EOT, then 0 padding
  std::vector<int32_t> n_tokens;  // [n] untruncated length including SOT and EOT
  int64_t n = 0;
  int64_t context_length = 0;
};

class BpeTokenizer {
 public:
  static constexpr int32_t kStartOfText = 49406;  // "<|startoftext|>" in CLIP's vocabulary
  static constexpr int32_t kEndOfText = 49407;    // "<|endoftext|>"
  static constexpr int kNumMerges = 49152 - 256 - 2;  // merges OpenAI uses: lines 1..48894 of the vocab file
  static constexpr size_t kMaxCacheEntries = 1 << 18;

  // OpenAI's gzipped merges file (first line a version header; lines 1..kNumMerges are merges).
  static BpeTokenizer from_openai_gz(const std::filesystem::path& path);
  // Hugging Face's vocab.json (token -> id) and merges.txt ("#version" header, then one "a b" merge a line).
  static BpeTokenizer from_hf(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
  // A .gz file (from_openai_gz) or a folder holding vocab.json and merges.txt (from_hf).
  static BpeTokenizer load(const std::filesystem::path& path);

  // BPE ids of `text` (UTF-8; invalid bytes decode to U+FFFD), without SOT/EOT.
  std::vector<int32_t> encode(std::string_view text) const;
  // OpenAI's clip.tokenize(texts, context_length, truncate=True): rows of SOT, ids, EOT, zero padding; a row longer
  // than context_length keeps its first context_length ids and ends with EOT. context_length must be >= 1.
  TokenBatch tokenize(const std::vector<std::string>& texts, int context_length = 77) const;

  // Steps 1-5 of the pipeline: the cleaned, lower-cased text as UTF-8.
  static std::string clean_text(std::string_view text);
  // Step 6: the pieces of cleaned text, as UTF-8.
  static std::vector<std::string> split_words(std::string_view cleaned);
  // Step 7's byte-to-unicode table: the UTF-8 of the printable stand-in for `byte` (OpenAI's bytes_to_unicode()).
  static std::string byte_symbol(uint8_t byte);

  // id -> token string (byte-to-unicode characters, '</w>' ends a word). Size 49408 for CLIP.
  const std::vector<std::string>& vocab() const { return id_to_token_; }
  int32_t token_id(const std::string& token) const;  // -1 when unknown
  // The merges in rank order, each "a b" (what HF's merges.txt lists after its '#version' line).
  std::vector<std::string> merges() const;

  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer();

 private:
  struct Cache;
  BpeTokenizer();
  void bpe(const std::string& piece_utf8, std::vector<int32_t>& out) const;

  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> encoder_;       // token -> id
  std::unordered_map<std::string, int32_t> merge_ranks_;   // "a b" -> rank (0 = merged first)
  std::string byte_encoder_[256];                          // byte -> UTF-8 of its printable stand-in
  int32_t sot_ = kStartOfText, eot_ = kEndOfText;
  std::unique_ptr<Cache> cache_;
};

}  // namespace kd
