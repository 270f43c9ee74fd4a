// Zero-shot classifiers from text towers and streamed top-k counting (see zero_shot.h).
#include "common/eval/zero_shot.h"

#include <cmath>
#include <map>
#include <utility>

#include "common/util/error.h"
#include "common/util/progress.h"

namespace kd {
namespace {

torch::Tensor unit_rows(const torch::Tensor& x) {  // [N, D] -> [N, D] float32, rows / max(|row|, 1e-12)
  auto f = x.to(torch::kFloat);
  return f / f.norm(2, 1, true).clamp_min(1e-12);
}

double ratio(double a, double b) { return b > 0 ? a / b : std::nan(""); }

}  // namespace

torch::Tensor zero_shot_classifier(TextTransformer& tower, const BpeTokenizer& tokenizer,
                                   const std::vector<std::string>& class_names,
                                   const std::vector<std::string>& templates, const EmbedOptions& options) {
  if (class_names.empty() || templates.empty())
    throw Error("zero-shot classifier needs classes and templates")
        .got(std::to_string(class_names.size()) + " classes, " + std::to_string(templates.size()) + " templates");
  const int64_t T = static_cast<int64_t>(templates.size());
  EmbedOptions quiet = options;
  quiet.progress_label.clear();
  Progress progress(options.progress_label, static_cast<int64_t>(class_names.size()), "classes",
                    options.progress_label.empty());
  std::vector<torch::Tensor> rows;  // C × [D]
  for (const std::string& name : class_names) {
    std::vector<std::string> prompts;
    for (const auto& t : templates) prompts.push_back(fill_prompt_template(t, name));
    const TokenBatch b = tokenizer.tokenize(prompts, tower->config.context_length);
    auto tokens = torch::from_blob(const_cast<int32_t*>(b.tokens.data()), {T, b.context_length}, torch::kInt).clone();
    auto prompt_embeds = unit_rows(embed_val_tokens(tower, tokens, quiet).embeds);  // [T, D]
    rows.push_back(unit_rows(prompt_embeds.mean(0, true)).squeeze(0));            // [D]
    progress.add(1);
  }
  progress.finish();
  return torch::stack(rows, 0);  // [C, D]
}

void add_top_k_counts(const torch::Tensor& image_embeds, const torch::Tensor& classifier, const torch::Tensor& labels,
                      TopKCounts& counts) {
  if (image_embeds.dim() != 2 || classifier.dim() != 2 || image_embeds.size(1) != classifier.size(1) ||
      labels.dim() != 1 || labels.size(0) != image_embeds.size(0))
    throw Error("zero-shot shapes do not fit").expected("images [B, D], classifier [C, D], labels [B]")
        .got("images " + std::to_string(image_embeds.dim()) + "-d, classifier " + std::to_string(classifier.dim()) +
             "-d, labels " + std::to_string(labels.numel()));
  auto scores = at::matmul(unit_rows(image_embeds), classifier.to(torch::kFloat).t());  // [B, C]
  auto truth = scores.gather(1, labels.to(torch::kLong).unsqueeze(1));                 // [B, 1]
  auto rank = (scores > truth).sum(1);                                                  // [B] int64
  counts.n += image_embeds.size(0);
  counts.top1 += (rank < 1).sum().item<int64_t>();
  counts.top5 += (rank < 5).sum().item<int64_t>();
}

ZeroShotResult run_zero_shot(const ZeroShotDataset& data, const std::vector<std::string>& templates,
                             const BpeTokenizer& tokenizer, const ZeroShotTowers& towers, const EmbedOptions& options) {
  if (!towers.teacher_image || !towers.teacher_text) throw Error("zero-shot needs the teacher's towers");
  ZeroShotResult r;
  r.dir = data.root.string();
  r.n_images = static_cast<int64_t>(data.keys.size());
  r.n_classes = static_cast<int64_t>(data.class_names.size());
  r.n_templates = static_cast<int64_t>(templates.size());
  auto label = [&](const std::string& s) { return options.progress_label.empty() ? "" : options.progress_label + s; };

  struct Text { const char* name; torch::Tensor classifier; };
  std::vector<Text> texts;
  EmbedOptions eo = options;
  eo.progress_label = label(" classifier (teacher text)");
  texts.push_back({"teacher", zero_shot_classifier(*towers.teacher_text, tokenizer, data.class_names, templates, eo)});
  if (towers.student_text) {
    eo.progress_label = label(" classifier (student text)");
    texts.push_back({"student", zero_shot_classifier(*towers.student_text, tokenizer, data.class_names, templates, eo)});
  }
  const auto labels = torch::tensor(data.labels, torch::kLong);  // [N]
  std::map<std::pair<std::string, std::string>, TopKCounts> counts;  // (image tower, text tower)
  auto score_images = [&](const std::string& image_name, VisionTransformer* tower) {
    std::vector<TopKCounts> c(texts.size());
    EmbedOptions io = options;
    io.progress_label = label(" images (" + image_name + " image)");
    embed_images_streamed(*tower, data.root, data.keys, io, [&](int64_t begin, const torch::Tensor& e) {
      const auto batch_labels = labels.narrow(0, begin, e.size(0));
      for (size_t t = 0; t < texts.size(); ++t) add_top_k_counts(e, texts[t].classifier, batch_labels, c[t]);
    });
    for (size_t t = 0; t < texts.size(); ++t) counts[{image_name, texts[t].name}] = c[t];
  };
  score_images("teacher", towers.teacher_image);
  if (towers.student_image) score_images("student", towers.student_image);
  const TopKCounts tt = counts.at({"teacher", "teacher"});
  // The order of the retrieval table: t×t, s×t, t×s, s×s.
  for (const auto& [img, txt] : std::vector<std::pair<std::string, std::string>>{
           {"teacher", "teacher"}, {"student", "teacher"}, {"teacher", "student"}, {"student", "student"}}) {
    auto it = counts.find({img, txt});
    if (it == counts.end()) continue;
    const bool first = r.pairings.empty();
    r.pairings.push_back({img, txt, it->second,
                          first ? std::nan("") : ratio(it->second.top1_accuracy(), tt.top1_accuracy()),
                          first ? std::nan("") : ratio(it->second.top5_accuracy(), tt.top5_accuracy())});
  }
  return r;
}

}  // namespace kd
