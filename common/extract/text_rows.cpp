// Caption batches: tokenise with the CLIP BPE, encode with the teacher's text tower.
#include "common/extract/text_rows.h"

#include <ATen/ATen.h>

#include "common/util/progress.h"

namespace kd {

TextRows encode_caption_range(const std::vector<Caption>& captions, int64_t begin, int64_t end,
                              const BpeTokenizer& tokenizer, TeacherEncoder& teacher, int64_t batch,
                              Progress& progress) {
  const int64_t C = teacher.config().text.context_length;
  TextRows rows;
  for (int64_t b = begin; b < end; b += batch) {
    const int64_t e = std::min(end, b + batch);
    std::vector<std::string> texts;
    for (int64_t i = b; i < e; ++i) texts.push_back(captions[i].text);
    TokenBatch tb = tokenizer.tokenize(texts, static_cast<int>(C));
    at::Tensor tokens = at::from_blob(tb.tokens.data(), {tb.n, C}, at::kInt).clone();  // [B, C]
    EncodedBatch out = teacher.encode_tokens(tokens);
    const float* em = out.embeds.contiguous().data_ptr<float>();
    const float* fe = out.features.contiguous().data_ptr<float>();
    rows.embeds.insert(rows.embeds.end(), em, em + out.embeds.numel());
    rows.features.insert(rows.features.end(), fe, fe + out.features.numel());
    rows.tokens.insert(rows.tokens.end(), tb.tokens.begin(), tb.tokens.end());
    for (int64_t i = b; i < e; ++i) {
      rows.keys.push_back(captions[i].key);
      rows.captions.push_back(captions[i].text);
    }
    progress.add(e - b);
  }
  return rows;
}

}  // namespace kd
