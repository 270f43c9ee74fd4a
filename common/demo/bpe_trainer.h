// Learns byte-level BPE merges in CLIP's format from a caption corpus, and writes them as a CLIP-shaped vocabulary
// (49408 ids, SOT 49406, EOT 49407) that BpeTokenizer::load reads both as OpenAI's .gz and as HF vocab.json+merges.txt.
//
// Pre-tokenisation is CLIP's own (BpeTokenizer::clean_text + split_words: cleaning, lowercase, the split regex), each
// piece's bytes become byte-to-unicode symbols and the last symbol carries '</w>'. Training is classic BPE: repeatedly
// merge the most frequent adjacent pair (ties: the smaller "a b" string), skipping a pair whose merged token already
// exists (two pairs can spell the same token), until no pair occurs `min_pair_count` times or `max_merges` is reached.
//
// Why the vocabulary is padded to CLIP's size: kd's ClipConfig requires vocab_size > 49407 and the text tower pools
// at tokens.argmax(-1), i.e. at EOT 49407; OpenAI's .gz reader expects exactly 48894 merges. Rather than teach every
// tool a second id layout, the learned merges (a few hundred) are followed by filler merges that can never fire on
// the demo's captions: they only join stand-ins of bytes 0x00-0x20, 0x7F-0xA0 and 0xAD (control characters, space,
// NBSP, soft hyphen), which CLIP's cleaning and split never leave inside a word of ordinary text. Ids therefore keep
// CLIP's layout: 0..255 bytes, 256..511 bytes + '</w>', 512.. learned merges, then filler, 49406 SOT, 49407 EOT.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace kd::demo {

using BpeMerge = std::pair<std::string, std::string>;  // two symbols (byte-to-unicode UTF-8, maybe with '</w>')

struct BpeTrainOptions {
  int max_merges = 4000;
  int min_pair_count = 2;  // a pair seen fewer times is not merged
};

// The learned merges, in rank order (first = merged first).
std::vector<BpeMerge> learn_bpe_merges(const std::vector<std::string>& captions, const BpeTrainOptions& options = {});

// `learned` followed by filler merges (see above) up to exactly `total` (CLIP: 48894). Throws kd::Error if `learned`
// is longer than `total` or uses a filler byte.
std::vector<BpeMerge> pad_merges(const std::vector<BpeMerge>& learned, size_t total);

// Writes, atomically, in `dir`: bpe_simple_vocab_16e6.txt.gz (OpenAI format: "#version: 0.2" then the merges),
// vocab.json and merges.txt (HF format, the same ids). `merges` must hold exactly 48894 merges (pad_merges).
// Each file is re-read with BpeTokenizer before this returns.
void write_clip_vocabulary(const std::vector<BpeMerge>& merges, const std::filesystem::path& dir);

}  // namespace kd::demo
