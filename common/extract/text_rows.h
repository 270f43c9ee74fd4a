// Turns captions into teacher rows: tokenise, batches to the teacher, results in memory for one shard.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clip/bpe_tokenizer.h"
#include "common/extract/teacher_encoder.h"
#include "common/text/caption_source.h"

namespace kd {

class Progress;

struct TextRows {
  std::vector<std::string> keys;      // [N]
  std::vector<std::string> captions;  // [N]
  std::vector<int32_t> tokens;        // [N, context]
  std::vector<float> embeds;          // [N, D]
  std::vector<float> features;        // [N, W]
  int64_t rows() const { return static_cast<int64_t>(keys.size()); }
};

// captions[begin, end), batch captions per teacher call.
TextRows encode_caption_range(const std::vector<Caption>& captions, int64_t begin, int64_t end,
                              const BpeTokenizer& tokenizer, TeacherEncoder& teacher, int64_t batch,
                              Progress& progress);

}  // namespace kd
