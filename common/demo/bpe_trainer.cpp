// BPE merge learning and CLIP-shaped vocabulary writing for the demo (see bpe_trainer.h).
#include "common/demo/bpe_trainer.h"

#include <zlib.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

#include "common/clip/bpe_tokenizer.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd::demo {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEndOfWord = "</w>";

struct Word {
  std::vector<std::string> symbols;
  int64_t count = 0;
};

// Bytes whose stand-ins the filler merges use: control characters, space, DEL..NBSP, soft hyphen (68 bytes).
std::vector<uint8_t> filler_bytes() {
  std::vector<uint8_t> out;
  for (int b = 0x00; b <= 0x20; ++b) out.push_back(static_cast<uint8_t>(b));
  for (int b = 0x7F; b <= 0xA0; ++b) out.push_back(static_cast<uint8_t>(b));
  out.push_back(0xAD);
  return out;
}

}  // namespace

std::vector<BpeMerge> learn_bpe_merges(const std::vector<std::string>& captions, const BpeTrainOptions& options) {
  if (options.max_merges < 0 || options.min_pair_count < 1) {
    throw Error("bad BPE training options").expected("max_merges >= 0, min_pair_count >= 1")
        .got(std::to_string(options.max_merges) + ", " + std::to_string(options.min_pair_count));
  }
  std::map<std::string, int64_t> piece_counts;  // ordered: deterministic word order
  for (const std::string& caption : captions) {
    for (const std::string& piece : BpeTokenizer::split_words(BpeTokenizer::clean_text(caption))) ++piece_counts[piece];
  }
  std::vector<Word> words;
  std::unordered_set<std::string> tokens;  // every symbol that exists so far
  for (int b = 0; b < 256; ++b) {
    const std::string s = BpeTokenizer::byte_symbol(static_cast<uint8_t>(b));
    tokens.insert(s);
    tokens.insert(s + kEndOfWord);
  }
  for (const auto& [piece, count] : piece_counts) {
    Word w;
    w.count = count;
    for (unsigned char b : piece) w.symbols.push_back(BpeTokenizer::byte_symbol(b));
    if (w.symbols.empty()) continue;
    w.symbols.back() += kEndOfWord;
    words.push_back(std::move(w));
  }

  std::vector<BpeMerge> merges;
  std::set<BpeMerge> banned;  // pairs whose merged token already exists
  while (static_cast<int>(merges.size()) < options.max_merges) {
    std::map<BpeMerge, int64_t> pair_counts;
    for (const Word& w : words) {
      for (size_t k = 0; k + 1 < w.symbols.size(); ++k) pair_counts[{w.symbols[k], w.symbols[k + 1]}] += w.count;
    }
    const BpeMerge* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [pair, count] : pair_counts) {  // map order: ties keep the smallest pair
      if (count > best_count && !banned.count(pair)) {
        if (tokens.count(pair.first + pair.second)) {
          banned.insert(pair);
          continue;
        }
        best = &pair;
        best_count = count;
      }
    }
    if (!best || best_count < options.min_pair_count) break;
    const BpeMerge merge = *best;
    const std::string joined = merge.first + merge.second;
    for (Word& w : words) {  // merge every occurrence, left to right (as the tokenizer applies it)
      std::vector<std::string> out;
      out.reserve(w.symbols.size());
      for (size_t k = 0; k < w.symbols.size();) {
        if (k + 1 < w.symbols.size() && w.symbols[k] == merge.first && w.symbols[k + 1] == merge.second) {
          out.push_back(joined);
          k += 2;
        } else {
          out.push_back(std::move(w.symbols[k]));
          k += 1;
        }
      }
      w.symbols = std::move(out);
    }
    tokens.insert(joined);
    merges.push_back(merge);
  }
  return merges;
}

std::vector<BpeMerge> pad_merges(const std::vector<BpeMerge>& learned, size_t total) {
  if (learned.size() > total) {
    throw Error("more learned merges than the vocabulary holds").expected("<= " + std::to_string(total))
        .got(std::to_string(learned.size()));
  }
  std::vector<std::string> filler;
  std::unordered_set<std::string> filler_set;
  for (uint8_t b : filler_bytes()) {
    filler.push_back(BpeTokenizer::byte_symbol(b));
    filler_set.insert(filler.back());
  }
  for (const BpeMerge& m : learned) {  // a learned merge must not start with a filler stand-in (it would collide)
    for (const std::string* part : {&m.first, &m.second}) {
      for (const std::string& f : filler) {
        if (part->find(f) != std::string::npos) {
          throw Error("a learned merge uses a byte reserved for filler merges").got("'" + m.first + " " + m.second + "'")
              .hint("captions must not contain control characters inside words");
        }
      }
    }
  }
  std::vector<BpeMerge> out = learned;
  // Level 1: filler x (not word-final) + filler y (either form). Level 2: filler x + a level-1 token. Every result
  // starts with a filler stand-in, so it can equal no learned token; results are distinct because the first
  // character and the rest determine the pair.
  std::vector<std::string> level1;
  for (const std::string& x : filler) {
    for (const std::string& y : filler) {
      for (const std::string& yy : {y, y + kEndOfWord}) {
        if (out.size() >= total) return out;
        out.emplace_back(x, yy);
        level1.push_back(x + yy);
      }
    }
  }
  for (const std::string& x : filler) {
    for (const std::string& y : level1) {
      if (out.size() >= total) return out;
      out.emplace_back(x, y);
    }
  }
  throw Error("cannot pad the merges to the requested size").expected(std::to_string(total)).got(std::to_string(out.size()));
}

void write_clip_vocabulary(const std::vector<BpeMerge>& merges, const fs::path& dir) {
  if (merges.size() != static_cast<size_t>(BpeTokenizer::kNumMerges)) {
    throw Error("a CLIP vocabulary needs exactly the CLIP number of merges").file(dir.string())
        .expected(std::to_string(BpeTokenizer::kNumMerges)).got(std::to_string(merges.size())).hint("pad_merges");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder").file(dir.string()).got(ec.message());
  std::string lines = "#version: 0.2\n";
  for (const BpeMerge& m : merges) lines += m.first + " " + m.second + "\n";

  const fs::path gz_path = dir / "bpe_simple_vocab_16e6.txt.gz";
  const fs::path tmp = temp_path_for(gz_path);
  gzFile f = gzopen(tmp.c_str(), "wb9");
  if (!f) throw Error("cannot create gzip file").file(tmp.string());
  const int written = gzwrite(f, lines.data(), static_cast<unsigned>(lines.size()));
  if (gzclose(f) != Z_OK || written != static_cast<int>(lines.size())) {
    throw Error("cannot write gzip file").file(tmp.string());
  }
  commit_atomic(tmp, gz_path);

  // HF files from the same ids: read the .gz back and list its vocabulary.
  const BpeTokenizer from_gz = BpeTokenizer::from_openai_gz(gz_path);
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  const auto& tokens = from_gz.vocab();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
  write_file_atomic(dir / "vocab.json", vocab.dump());
  write_file_atomic(dir / "merges.txt", lines);
  const BpeTokenizer from_hf = BpeTokenizer::from_hf(dir / "vocab.json", dir / "merges.txt");
  if (from_hf.vocab() != tokens || from_hf.token_id("<|endoftext|>") != BpeTokenizer::kEndOfText ||
      from_hf.token_id("<|startoftext|>") != BpeTokenizer::kStartOfText) {
    throw Error("the written vocabulary does not read back identically").file(dir.string());
  }
}

}  // namespace kd::demo
