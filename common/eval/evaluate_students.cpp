// kd-eval's evaluation: load, embed, score over the whole set, compare with the teacher, time.
#include "common/eval/evaluate_students.h"

#include <optional>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/strict_fp32.h"
#include "common/clip/student_path.h"
#include "common/clip/weights_id.h"
#include "common/eval/student_teacher.h"
#include "common/eval/zero_shot.h"
#include "common/extract/teacher_encoder.h"
#include "common/util/device_name.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

nlohmann::json vision_json(const ClipConfig& c) {
  return {{"tower", "vision"},           {"width", c.vision.width},         {"n_layers", c.vision.n_layers},
          {"n_heads", c.vision.n_heads}, {"mlp_width", c.vision.mlp_width}, {"patch_size", c.vision.patch_size},
          {"image_size", c.vision.image_size}, {"embed_dim", c.embed_dim}};
}

nlohmann::json text_json(const ClipConfig& c) {
  return {{"tower", "text"},           {"width", c.text.width},         {"n_layers", c.text.n_layers},
          {"n_heads", c.text.n_heads}, {"mlp_width", c.text.mlp_width}, {"context_length", c.text.context_length},
          {"vocab_size", c.text.vocab_size}, {"embed_dim", c.embed_dim}};
}

LoadedClip load_tower(const std::filesystem::path& given, bool vision, int64_t embed_dim, const std::string& role) {
  LoadedClip loaded = load_student_tower(given, vision, role, vision ? "--text-student" : "--image-student");
  if (loaded.model.config.embed_dim != embed_dim)
    throw Error(role + " embeds into another width than the val cache's teacher").file(given.string())
        .key("embed_dim").expected(std::to_string(embed_dim)).got(std::to_string(loaded.model.config.embed_dim));
  return loaded;
}

RetrievalRecall recall_of(const torch::Tensor& img, const torch::Tensor& txt, const ValCache& cache,
                          const std::vector<int64_t>& ks, int64_t block_rows) {
  return retrieval_recall(img, txt, cache.text_image, ks, block_rows);
}

std::vector<double> ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = b[i] > 0 ? a[i] / b[i] : std::nan("");
  return out;
}

}  // namespace

std::vector<PairingResult> score_pairings(const ValCache& cache, const torch::Tensor& student_image_embeds,
                                          const torch::Tensor& student_text_embeds, const std::vector<int64_t>& ks,
                                          int64_t block_rows) {
  std::vector<PairingResult> out;
  PairingResult tt{"teacher", "teacher", recall_of(cache.image_embeds, cache.text_embeds, cache, ks, block_rows), {}, {}};
  out.push_back(tt);
  auto add = [&](const char* image_name, const torch::Tensor& img, const char* text_name, const torch::Tensor& txt) {
    PairingResult p{image_name, text_name, recall_of(img, txt, cache, ks, block_rows), {}, {}};
    p.retention_image_to_text = ratio(p.recall.image_to_text, tt.recall.image_to_text);
    p.retention_text_to_image = ratio(p.recall.text_to_image, tt.recall.text_to_image);
    out.push_back(p);
  };
  if (student_image_embeds.defined()) add("student", student_image_embeds, "teacher", cache.text_embeds);
  if (student_text_embeds.defined()) add("teacher", cache.image_embeds, "student", student_text_embeds);
  if (student_image_embeds.defined() && student_text_embeds.defined())
    add("student", student_image_embeds, "student", student_text_embeds);
  return out;
}

EvalReport evaluate_students(const EvalOptions& o) {
  if (o.image_student.empty() && o.text_student.empty())
    throw UsageError(Error("nothing to evaluate").hint("pass --image-student and/or --text-student"));
  if (o.val_cache.empty() && o.zeroshot.empty())
    throw UsageError(
        Error("nothing to evaluate on").hint("pass --val-cache (retrieval) and/or --zeroshot (classification)"));
  if (!o.zeroshot.empty() && o.teacher.empty())
    throw UsageError(Error("zero-shot needs the teacher (its towers are the reference, its tokenizer makes the prompts)")
                         .key("--zeroshot").hint("pass --teacher"));
  if (o.batch <= 0) throw UsageError(Error("must be positive").key("--batch").got(std::to_string(o.batch)));
  if (o.block_rows <= 0)
    throw UsageError(Error("must be positive").key("--block-rows").got(std::to_string(o.block_rows)));
  if (o.teacher_rows < 0)
    throw UsageError(Error("must not be negative").key("--teacher-rows").got(std::to_string(o.teacher_rows)));
  for (int64_t k : o.ks)
    if (k <= 0) throw UsageError(Error("must be positive").key("--ks").got(std::to_string(k)));
  const torch::Device device = parse_device(o.device);
  if (device.is_cuda()) use_strict_fp32_on_cuda();  // kd-eval scores in float32
  EvalReport report;
  std::optional<ValCache> cache;
  if (!o.val_cache.empty()) {
    cache = read_val_cache(o.val_cache);
    report.val_cache = o.val_cache.string();
    report.protocol = cache->protocol;
    report.dataset = cache->dataset;
    report.split = cache->split;
    report.source = cache->source;
    report.teacher_id = cache->teacher_id;
    report.image_root = cache->image_root.string();
    report.n_images = cache->n_images();
    report.n_texts = cache->n_texts();
    report.embed_dim = cache->embed_dim;
    report.logit_scale = cache->logit_scale;
    report.block_rows = o.block_rows;
  } else {
    report.has_retrieval = false;
  }

  // The teacher first: it fixes the embedding width when there is no val cache.
  std::optional<LoadedClip> teacher;
  if (!o.teacher.empty()) {
    teacher = load_clip(o.teacher);
    const std::string id = clip_weights_id(teacher->model);
    if (cache && id != cache->teacher_id)
      throw Error("teacher is not the one the val cache was made with").file(o.teacher.string()).key("teacher_id")
          .expected(cache->teacher_id).got(id);
    report.teacher_id = id;
    if (!teacher->model.config.has_vision || !teacher->model.config.has_text)
      throw Error("teacher needs both towers").file(o.teacher.string());
    if (!cache) report.embed_dim = teacher->model.config.embed_dim;
    teacher->model.to(device, torch::kFloat);
  }
  const int64_t embed_dim = report.embed_dim;

  EmbedOptions eo;
  eo.batch = o.batch;
  eo.device = device;
  // The teacher's val embeddings were made from pixels rendered in the cache's mode; zero-shot alone renders exact.
  eo.resize = cache ? cache->resize : ResizeMode::kExact;
  auto label = [&](const std::string& s) { return o.progress ? "kd-eval: " + s : std::string(); };

  std::optional<LoadedClip> image_student, text_student;
  torch::Tensor image_embeds, text_embeds;
  // A student distilled from another teacher than the one scored against is refused unless allowed (the report warns).
  auto check_teacher = [&](const char* role, const std::filesystem::path& given, const LoadedClip& s) {
    const std::string student_teacher = recorded_teacher_id(s.weights_file);
    const std::string warning =
        check_student_teacher(role, given, student_teacher, report.teacher_id, o.allow_other_teacher);
    if (!warning.empty()) report.warnings.push_back(warning);
    return student_teacher;
  };
  if (!o.image_student.empty()) {
    image_student = load_tower(o.image_student, true, embed_dim, "image student");
    LoadedClip& s = *image_student;
    const std::string student_teacher = check_teacher("image student", o.image_student, s);
    s.model.to(device, torch::kFloat);
    if (cache) {
      eo.progress_label = label("image student");
      TowerEmbeddings e = embed_val_images(s.model.visual, cache->image_root, cache->image_keys, eo);
      image_embeds = e.embeds;
      report.towers.push_back({"image student", o.image_student.string(), to_string(s.format),
                               vision_json(s.model.config), count_parameters(*s.model.visual),
                               mean_paired_cosine(e.embeds, cache->image_embeds), e.timing, student_teacher});
    }
  }
  if (!o.text_student.empty()) {
    text_student = load_tower(o.text_student, false, embed_dim, "text student");
    LoadedClip& s = *text_student;
    const std::string student_teacher = check_teacher("text student", o.text_student, s);
    s.model.to(device, torch::kFloat);
    if (cache) {
      eo.progress_label = label("text student");
      TowerEmbeddings e = embed_val_tokens(s.model.text, cache->tokens, eo);
      text_embeds = e.embeds;
      report.towers.push_back({"text student", o.text_student.string(), to_string(s.format),
                               text_json(s.model.config), count_parameters(*s.model.text),
                               mean_paired_cosine(e.embeds, cache->text_embeds), e.timing, student_teacher});
    }
  }
  if (teacher && cache) {
    LoadedClip& t = *teacher;
    EmbedOptions te = eo;
    te.limit = o.teacher_rows;
    te.progress_label = label("teacher image");
    TowerEmbeddings ei = embed_val_images(t.model.visual, cache->image_root, cache->image_keys, te);
    const int64_t ni = ei.embeds.size(0);
    report.towers.push_back({"teacher image", o.teacher.string(), to_string(t.format), vision_json(t.model.config),
                             count_parameters(*t.model.visual),
                             mean_paired_cosine(ei.embeds, cache->image_embeds.narrow(0, 0, ni)), ei.timing, ""});
    te.progress_label = label("teacher text");
    TowerEmbeddings et = embed_val_tokens(t.model.text, cache->tokens, te);
    const int64_t nt = et.embeds.size(0);
    report.towers.push_back({"teacher text", o.teacher.string(), to_string(t.format), text_json(t.model.config),
                             count_parameters(*t.model.text),
                             mean_paired_cosine(et.embeds, cache->text_embeds.narrow(0, 0, nt)), et.timing, ""});
  }
  if (cache) report.pairings = score_pairings(*cache, image_embeds, text_embeds, o.ks, o.block_rows);

  if (!o.zeroshot.empty()) {
    const ZeroShotDataset data = read_zero_shot_folder(o.zeroshot, o.classnames);
    const std::vector<std::string> templates =
        o.templates.empty() ? imagenet_prompt_templates() : read_prompt_templates(o.templates);
    const BpeTokenizer tokenizer = BpeTokenizer::load(find_vocab_for_teacher(o.teacher, o.vocab));
    ZeroShotTowers towers;
    towers.teacher_image = &teacher->model.visual;
    towers.teacher_text = &teacher->model.text;
    if (image_student) towers.student_image = &image_student->model.visual;
    if (text_student) towers.student_text = &text_student->model.text;
    EmbedOptions zo = eo;
    zo.progress_label = label("zero-shot");
    report.zero_shot = run_zero_shot(data, templates, tokenizer, towers, zo);
    report.zero_shot.dir = o.zeroshot.string();
    report.zero_shot.templates_source =
        o.templates.empty() ? std::string("CLIP's 80 ImageNet templates, built in") : o.templates.string();
    report.zero_shot.class_names_from_file = !o.classnames.empty();
    report.has_zero_shot = true;
  }
  return report;
}

}  // namespace kd
