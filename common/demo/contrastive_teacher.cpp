// Contrastive training of the demo's small CLIP teacher (see contrastive_teacher.h).
#include "common/demo/contrastive_teacher.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <unistd.h>  // isatty

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common/clip/bpe_tokenizer.h"
#include "common/clip/clip_checkpoint.h"
#include "common/clip/clip_model.h"
#include "common/demo/demo_rng.h"
#include "common/util/progress.h"
#include "common/distill/autocast_guard.h"
#include "common/distill/lr_schedule.h"
#include "common/distill/optimizer_step.h"
#include "common/distill/param_groups.h"
#include "common/image/renderer.h"
#include "common/util/option_json.h"
#include "common/text/caption_source.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd::demo {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

ClipConfig demo_teacher_config(int64_t image_size) {
  ClipConfig c;
  c.name = "kd-demo-teacher";
  c.vision.width = 128;
  c.vision.n_layers = 3;
  c.vision.n_heads = 2;
  c.vision.mlp_width = 512;
  c.vision.patch_size = 16;
  c.vision.image_size = image_size;
  c.text.width = 128;
  c.text.n_layers = 3;
  c.text.n_heads = 2;
  c.text.mlp_width = 512;
  c.embed_dim = 128;
  return c;
}

void validate(const TeacherTrainOptions& o) {
  validate_clip_config(o.config, "demo teacher config");
  if (!o.config.has_vision || !o.config.has_text) throw Error("the demo teacher needs both towers");
  if (o.epochs < 1) throw Error("epochs must be >= 1").key("epochs").got(std::to_string(o.epochs));
  if (o.batch_size < 2) throw Error("batch size must be >= 2 for a contrastive loss").key("batch-size")
      .got(std::to_string(o.batch_size));
  if (!(o.lr > 0) || o.min_lr < 0 || o.weight_decay < 0 || o.warmup_steps < 0) {
    throw Error("bad optimiser settings").expected("lr > 0, min_lr >= 0, weight_decay >= 0, warmup >= 0");
  }
  if (o.threads < 1) throw Error("threads must be >= 1").key("threads").got(std::to_string(o.threads));
  if (o.precision == Precision::kFp16)
    throw Error("the demo teacher trains on CPU: fp16 autocast needs CUDA").key("--precision").expected("bf16 or fp32");
  if (o.max_train_seconds < 0 || o.min_chance_multiple < 0 || o.logit_scale_init < 0 || !(o.logit_scale_lr_factor >= 0))
    throw Error("must not be negative")
        .key("--max-train-seconds, --min-chance-multiple, --logit-scale-init, --logit-scale-lr-factor");
}

std::vector<double> chance_image_to_text(const std::vector<int64_t>& per_image, int64_t n_texts,
                                         const std::vector<int64_t>& ks) {
  std::vector<double> out;
  for (int64_t k : ks) {
    double sum = 0;
    for (int64_t c : per_image) {
      double miss = 1;  // P(none of the c own captions among k random picks of n_texts)
      for (int64_t j = 0; j < k && j < n_texts; ++j) miss *= std::max<double>(0, double(n_texts - c - j)) / double(n_texts - j);
      sum += 1 - miss;
    }
    out.push_back(per_image.empty() ? 0 : sum / static_cast<double>(per_image.size()));
  }
  return out;
}

std::vector<double> chance_text_to_image(int64_t n_images, const std::vector<int64_t>& ks) {
  std::vector<double> out;
  for (int64_t k : ks) out.push_back(std::min(1.0, static_cast<double>(k) / static_cast<double>(n_images)));
  return out;
}

namespace {

// One split of the demo data: images (preprocessed) and their captions (tokenized).
struct Split {
  torch::Tensor pixels;                       // [Ni, 3, R, R] float32
  torch::Tensor tokens;                       // [Nt, 77] int64
  torch::Tensor text_image;                   // [Nt] int64: row of the caption's image
  std::vector<std::vector<int64_t>> captions; // per image: its caption rows
  int64_t max_tokens = 0;                     // longest caption incl. SOT/EOT (≤ context)
};

Split load_split(const fs::path& captions_json, const fs::path& image_folder, const BpeTokenizer& tokenizer,
                 int64_t resolution, int64_t context_length, int threads, bool progress, const std::string& label) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(captions_json));
  } catch (const nlohmann::json::exception& e) {
    throw Error("bad JSON").file(captions_json.string()).got(e.what());
  }
  if (!j.contains("images") || !j["images"].is_array()) {
    throw Error("captions file has no \"images\" list").file(captions_json.string()).hint("written by kd-demo-data");
  }
  std::vector<fs::path> paths;
  std::map<int64_t, int64_t> row_of_id;
  for (const auto& im : j["images"]) {
    row_of_id[im.at("id").get<int64_t>()] = static_cast<int64_t>(paths.size());
    paths.push_back(image_folder / im.at("file_name").get<std::string>());
  }
  const CaptionRead read = read_captions(captions_json, CaptionFormat::kCoco);
  Split s;
  s.captions.resize(paths.size());
  std::vector<std::string> texts;
  std::vector<int64_t> text_image;
  for (const Caption& c : read.captions) {
    auto it = row_of_id.find(c.image_id);
    if (it == row_of_id.end()) throw Error("caption of an unknown image").file(captions_json.string()).key(c.key);
    s.captions[static_cast<size_t>(it->second)].push_back(static_cast<int64_t>(texts.size()));
    texts.push_back(c.text);
    text_image.push_back(it->second);
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    if (s.captions[i].empty()) throw Error("image without captions").file(captions_json.string()).key(paths[i].string());
  }
  const TokenBatch batch = tokenizer.tokenize(texts, static_cast<int>(context_length));
  s.tokens = torch::from_blob(const_cast<int32_t*>(batch.tokens.data()), {batch.n, batch.context_length}, torch::kInt32)
                 .to(torch::kInt64);
  for (int32_t n : batch.n_tokens) s.max_tokens = std::max<int64_t>(s.max_tokens, std::min<int64_t>(n, context_length));
  s.text_image = torch::tensor(text_image, torch::kInt64);

  const int64_t n = static_cast<int64_t>(paths.size()), r = resolution;
  s.pixels = torch::empty({n, 3, r, r}, torch::kFloat32);
  float* base = s.pixels.data_ptr<float>();
  Progress line(label, n, "images", !progress);
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
      render(paths[static_cast<size_t>(i)].string(), ViewSpec::centre_crop(), ResizeMode::kExact, static_cast<int>(r),
             base + i * 3 * r * r);
      line.add(1);
    });
  });
  line.finish();
  return s;
}

// `a` followed by `b`: one training set of both splits' images and captions.
Split concatenated(Split a, const Split& b) {
  const int64_t image_offset = a.pixels.size(0), caption_offset = a.tokens.size(0);
  for (const std::vector<int64_t>& rows : b.captions) {
    std::vector<int64_t>& shifted = a.captions.emplace_back();
    for (int64_t r : rows) shifted.push_back(r + caption_offset);
  }
  a.pixels = torch::cat({a.pixels, b.pixels});
  a.tokens = torch::cat({a.tokens, b.tokens});
  a.text_image = torch::cat({a.text_image, b.text_image + image_offset});
  a.max_tokens = std::max(a.max_tokens, b.max_tokens);
  return a;
}

torch::Tensor normalized(const torch::Tensor& x) { return x / x.norm(2, -1, true).clamp_min(1e-12); }

// Embeddings of a whole split, in eval mode without gradients: images [Ni, D], texts [Nt, D].
std::pair<torch::Tensor, torch::Tensor> embed_split(ClipModel& model, const Split& s) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> img, txt;
  const int64_t ni = s.pixels.size(0), nt = s.tokens.size(0), b = 256;
  for (int64_t i = 0; i < ni; i += b) img.push_back(model.visual->forward(s.pixels.slice(0, i, std::min(ni, i + b))).embeds);
  const torch::Tensor tokens = s.tokens.slice(1, 0, s.max_tokens);
  for (int64_t i = 0; i < nt; i += b) txt.push_back(model.text->forward(tokens.slice(0, i, std::min(nt, i + b))).embeds);
  return {torch::cat(img), torch::cat(txt)};
}

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

TeacherTrainResult train_demo_teacher(const TeacherTrainOptions& o) {
  validate(o);
  TeacherTrainResult result;
  const auto t0 = Clock::now();
  const fs::path vocab_dir = o.data_dir / "vocab";
  const BpeTokenizer tokenizer = BpeTokenizer::load(vocab_dir);
  const int64_t res = o.config.vision.image_size, ctx = o.config.text.context_length;
  Split train = load_split(o.data_dir / "COCO" / "annotations" / "captions_train2017.json", o.data_dir / "image",
                           tokenizer, res, ctx, o.threads, o.progress, "kd-demo-teacher: load train");
  result.n_distill_images = train.pixels.size(0);
  const fs::path pretrain_captions = o.data_dir / "pretrain" / "captions.json";
  if (!o.skip_pretrain && fs::exists(pretrain_captions)) {
    train = concatenated(std::move(train), load_split(pretrain_captions, o.data_dir / "pretrain", tokenizer, res, ctx,
                                                      o.threads, o.progress, "kd-demo-teacher: load pretrain"));
  }
  result.n_train_images = train.pixels.size(0);
  const Split val = load_split(o.data_dir / "COCO" / "annotations" / "captions_val2017.json",
                               o.data_dir / "COCO" / "val2017", tokenizer, res, ctx, o.threads, o.progress,
                               "kd-demo-teacher: load val");
  const auto t1 = Clock::now();
  result.prepare_seconds = std::chrono::duration<double>(t1 - t0).count();

  ClipModel model = ClipModel::create(o.config, o.seed);
  if (o.logit_scale_init > 0) model.logit_scale.fill_(std::log(o.logit_scale_init));
  model.logit_scale.requires_grad_(true);

  const int64_t n = train.pixels.size(0);
  const int64_t batch = std::min(o.batch_size, n);
  const int64_t steps_per_epoch = n / batch;  // drop the last partial batch: a contrastive batch should be full
  // kd's step machinery (optimizer_step.h), as kd-train uses it: AdamW groups by param_groups.h's rule, with
  // logit_scale in a group of its own at lr × logit_scale_lr_factor; cosine schedule with warmup.
  AdamWSettings adamw;
  adamw.lr = o.lr;
  adamw.weight_decay = o.weight_decay;
  std::vector<torch::optim::OptimizerParamGroup> groups =
      adamw_param_groups(model.named_tensors(), adamw, {"logit_scale"});
  OptimizerStepOptions step_options;
  LrScheduleConfig& schedule = step_options.schedule;
  schedule.kind = LrSchedule::kCosine;
  schedule.base_lr = o.lr;
  schedule.min_lr = o.min_lr;
  schedule.total_steps = std::max<int64_t>(steps_per_epoch * o.epochs, 1);
  schedule.warmup_steps = std::min(o.warmup_steps, schedule.total_steps - 1);
  step_options.steps_per_epoch = steps_per_epoch;
  step_options.lr_factors.assign(groups.size(), 1.0);
  step_options.lr_factors.back() = o.logit_scale_lr_factor;
  OptimizerStep optimizer(std::move(groups), step_options);

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed ^ 0x7E4C4E5ull);
  DemoRng caption_rng(o.seed ^ 0xCA97105ull);
  const double max_log_scale = std::log(100.0);
  Progress line("kd-demo-teacher", schedule.total_steps, "steps", !o.progress);
  bool out_of_time = false;
  for (int epoch = 0; epoch < o.epochs && !out_of_time; ++epoch) {
    const torch::Tensor order = torch::randperm(n, gen, torch::kInt64);
    double loss_sum = 0;
    int64_t loss_n = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const torch::Tensor idx = order.slice(0, s * batch, (s + 1) * batch);  // [B]
      std::vector<int64_t> rows;
      rows.reserve(static_cast<size_t>(batch));
      const int64_t* ip = idx.data_ptr<int64_t>();
      for (int64_t k = 0; k < batch; ++k) rows.push_back(caption_rng.pick(train.captions[static_cast<size_t>(ip[k])]));
      const torch::Tensor rows_t = torch::tensor(rows, torch::kInt64);
      const torch::Tensor tokens = train.tokens.index_select(0, rows_t).slice(1, 0, train.max_tokens);  // [B, L]
      const torch::Tensor pixels = train.pixels.index_select(0, idx);                                 // [B, 3, R, R]

      const double lr = optimizer.set_lr(result.steps);
      torch::Tensor img, txt;
      {
        AutocastGuard autocast(c10::DeviceType::CPU, o.precision == Precision::kBf16 ? at::kBFloat16 : at::kFloat);
        img = model.visual->forward(pixels).embeds;  // [B, D]
        txt = model.text->forward(tokens).embeds;    // [B, D]
      }
      img = normalized(img.to(torch::kFloat32));
      txt = normalized(txt.to(torch::kFloat32));
      const torch::Tensor logits = model.logit_scale.exp() * img.matmul(txt.t());  // [B, B] float32
      const torch::Tensor target = torch::arange(batch, torch::kInt64);
      const torch::Tensor loss = 0.5 * (torch::nn::functional::cross_entropy(logits, target) +
                                        torch::nn::functional::cross_entropy(logits.t(), target));
      optimizer.apply(loss);
      {
        torch::NoGradGuard no_grad;
        model.logit_scale.clamp_(0.0, max_log_scale);
      }
      const double l = loss.item<double>();
      loss_sum += l;
      ++loss_n;
      ++result.steps;
      line.add(1, fmt("epoch %.0f  loss %.3f  lr %.2g", epoch + 1, l, lr));
      if (o.max_train_seconds > 0 && std::chrono::duration<double>(Clock::now() - t1).count() > o.max_train_seconds) {
        out_of_time = true;
        break;
      }
    }
    if (loss_n > 0) result.epoch_loss.push_back(loss_sum / static_cast<double>(loss_n));
    if (o.progress) {
      std::fprintf(stderr, "%skd-demo-teacher: epoch %d/%d mean loss %.4f  logit scale %.1f%s\n",
                   isatty(2) ? "\n" : "", epoch + 1, o.epochs, result.epoch_loss.back(), model.logit_multiplier(),
                   out_of_time ? "  (stopped: --max-train-seconds reached)" : "");
    }
  }
  line.finish();
  const auto t2 = Clock::now();
  result.train_seconds = std::chrono::duration<double>(t2 - t1).count();

  model.eval();
  model.logit_scale = model.logit_scale.detach();
  auto [img_emb, txt_emb] = embed_split(model, val);
  const std::vector<int64_t> ks = {1, 5, 10};
  result.val = retrieval_recall(img_emb, txt_emb, val.text_image, ks);
  std::vector<int64_t> per_image;
  for (const auto& c : val.captions) per_image.push_back(static_cast<int64_t>(c.size()));
  result.chance_image_to_text = chance_image_to_text(per_image, val.tokens.size(0), ks);
  result.chance_text_to_image = chance_text_to_image(val.pixels.size(0), ks);
  result.r1 = 0.5 * (result.val.image_to_text[0] + result.val.text_to_image[0]);
  result.r1_chance = 0.5 * (result.chance_image_to_text[0] + result.chance_text_to_image[0]);
  result.final_logit_scale = model.logit_multiplier();
  result.eval_seconds = std::chrono::duration<double>(Clock::now() - t2).count();

  if (!o.out_dir.empty()) {
    save_clip_hf(model, o.out_dir);
    for (const char* f : {"vocab.json", "merges.txt"}) write_file_atomic(o.out_dir / f, read_file(vocab_dir / f));
    nlohmann::json options_json;
    options_to_json(o, options_json);
    options_json["data_dir"] = fs::absolute(o.data_dir).string();
    nlohmann::ordered_json report = {
        {"kd_format", "kd-demo-teacher-report"}, {"kd_version", 1},
        {"config", clip_config_to_json(o.config)},
        {"options", options_json},
        {"train_images", result.n_train_images}, {"distill_images", result.n_distill_images},
        {"steps", result.steps}, {"epoch_loss", result.epoch_loss}, {"logit_scale", result.final_logit_scale},
        {"val", {{"ks", ks}, {"image_to_text", result.val.image_to_text}, {"text_to_image", result.val.text_to_image},
                 {"chance_image_to_text", result.chance_image_to_text},
                 {"chance_text_to_image", result.chance_text_to_image}, {"n_images", result.val.n_images},
                 {"n_texts", result.val.n_texts}, {"r1", result.r1}, {"r1_chance", result.r1_chance}}},
        {"seconds", {{"prepare", result.prepare_seconds}, {"train", result.train_seconds},
                     {"eval", result.eval_seconds}}}};
    write_file_atomic(o.out_dir / "teacher-report.json", report.dump(2) + "\n");
    write_file_atomic(o.out_dir / "teacher-summary.txt", format_teacher_report(result, o.min_chance_multiple > 0 ? o.min_chance_multiple : 5) + "\n");
  }
  if (o.min_chance_multiple > 0 && result.r1 < o.min_chance_multiple * result.r1_chance) {
    throw Error("the demo teacher retrieves too poorly").expected(fmt("R@1 >= %.1fx chance (%.4f)", o.min_chance_multiple,
                                                                      o.min_chance_multiple * result.r1_chance))
        .got(fmt("R@1 %.4f (%.1fx chance)", result.r1, result.r1 / result.r1_chance))
        .hint("train longer (--epochs) or on more images (kd-demo-data --train)");
  }
  return result;
}

std::string format_teacher_report(const TeacherTrainResult& r, double required_multiple) {
  std::string s;
  const auto& v = r.val;
  s += fmt("teacher trained on %.0f images (%.0f of them the students' training images), %.0f steps\n",
           double(r.n_train_images), double(r.n_distill_images), double(r.steps));
  s += fmt("teacher val retrieval over %.0f images / %.0f captions\n", double(v.n_images), double(v.n_texts));
  s += fmt("  image->text R@1/5/10 = %.4f / %.4f / %.4f", v.image_to_text[0], v.image_to_text[1], v.image_to_text[2]);
  s += fmt("   (chance %.4f / %.4f / %.4f)\n", r.chance_image_to_text[0], r.chance_image_to_text[1],
           r.chance_image_to_text[2]);
  s += fmt("  text->image R@1/5/10 = %.4f / %.4f / %.4f", v.text_to_image[0], v.text_to_image[1], v.text_to_image[2]);
  s += fmt("   (chance %.4f / %.4f / %.4f)\n", r.chance_text_to_image[0], r.chance_text_to_image[1],
           r.chance_text_to_image[2]);
  if (!r.epoch_loss.empty()) {
    s += fmt("  training loss %.4f (first epoch) -> %.4f (last epoch)", r.epoch_loss.front(), r.epoch_loss.back());
    s += fmt(", logit scale %.1f\n", r.final_logit_scale);
  }
  s += fmt("  time: prepare %.1f s, train %.1f s, eval %.1f s\n", r.prepare_seconds, r.train_seconds, r.eval_seconds);
  const double multiple = r.r1_chance > 0 ? r.r1 / r.r1_chance : 0;
  s += fmt("teacher R@1 = %.4f = %.1fx chance (chance %.4f: mean of image->text and text->image R@1", r.r1, multiple,
           r.r1_chance);
  s += fmt(" of a random ranking; >= %.0fx: ", required_multiple) + (multiple >= required_multiple ? "yes)" : "NO)");
  return s;
}

}  // namespace kd::demo
