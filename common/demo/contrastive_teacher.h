// Trains the offline demo's teacher: a small CLIP learned from scratch on the synthetic data set (synthetic_data.h)
// with CLIP's symmetric InfoNCE loss, then measured by zero-shot retrieval on the val split against chance.
//
// Loss per batch of B (image, caption) pairs, image and text embeddings L2-normalised, s = exp(logit_scale):
//   logits = s · I Tᵀ   [B, B];   loss = ½ (CE(logits, diag) + CE(logitsᵀ, diag)).
// logit_scale is learned and clamped to ≤ ln 100 as CLIP does. AdamW (betas 0.9/0.98, eps 1e-6), weight decay on
// matrices only (param_groups.h's rule), linear warmup then cosine (lr_schedule.h). The training images are DIR/image
// and, when kd-demo-data wrote it, DIR/pretrain (pretrain/captions.json). Each epoch visits every training image
// once, with one of its captions drawn at random. Images are decoded and CLIP-preprocessed (kExact) once, at the
// teacher's image_size, and kept in memory: N · 3 · R² float32 (10 000 images at 64 px: 492 MB).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "common/clip/clip_config.h"
#include "common/eval/retrieval_metrics.h"
#include "common/util/option_fields.h"
#include "common/util/precision.h"

namespace kd::demo {

// The demo teacher: vision ViT width 128, 3 layers, 2 heads, patch 16 at `image_size` px; text width 128, 3 layers,
// 2 heads, CLIP's context 77 and vocabulary 49408; embed_dim 128.
ClipConfig demo_teacher_config(int64_t image_size = 64);

struct TeacherTrainOptions {
  std::filesystem::path data_dir;  // kd-demo-data output: image/, COCO/, vocab/
  std::filesystem::path out_dir;   // HF folder to write (config.json, model.safetensors, vocab.json, merges.txt,
                                   // teacher-report.json); empty = do not save
  ClipConfig config = demo_teacher_config();
  int epochs = 6;                    // passes over DIR/image + DIR/pretrain (10 000 images: 1872 steps at batch 32)
  int64_t batch_size = 32;           // measured (10 000 images, 6 epochs, seed 0): 32 beats 16 (3.4 % R@1 at lr 1e-3)
  double lr = 5e-4;                  // measured (10 000 images, 6 epochs, val 1000): I->T R@1 seeds 0/1/2 at 5e-4
                                     // 22.8/19.0/26.3 %; at 1e-3 4.8/5.1/13.0 % (a long loss plateau); 2e-3 0.3 %
  double min_lr = 1e-5;
  double weight_decay = 0.1;
  int64_t warmup_steps = 20;
  uint64_t seed = 0;
  int threads = 2;                   // decoding threads (TBB arena); LibTorch's intra-op threads are the caller's
  Precision precision = Precision::kBf16;  // training forward/backward: bf16 autocast (float32 master weights) or
                                           // fp32; evaluation stays float32. fp16 is refused (CPU).
  double logit_scale_init = 0;       // initial multiplier exp(logit_scale); 0 = CLIP's 1/0.07
  double logit_scale_lr_factor = 1;  // logit_scale's learning rate = lr × this
  double max_train_seconds = 0;      // stop training early past this wall time (0 = no limit); the schedule is unchanged
  double min_chance_multiple = 0;    // throw kd::Error when R@1 < this × chance (0 = no check)
  bool skip_pretrain = false;        // train on DIR/image only, even when DIR/pretrain exists
  bool progress = true;              // progress lines on stderr
};

struct TeacherTrainResult {
  std::vector<double> epoch_loss;    // mean training loss of each epoch run
  int64_t n_train_images = 0;        // images trained on: DIR/image, then DIR/pretrain when present
  int64_t n_distill_images = 0;      // of those, DIR/image (the students' training images)
  int64_t steps = 0;                 // optimiser steps taken
  double final_logit_scale = 0;      // exp(logit_scale)
  RetrievalRecall val;               // ks {1, 5, 10}
  std::vector<double> chance_image_to_text, chance_text_to_image;  // expected recall of random ranking, per k
  double r1 = 0, r1_chance = 0;      // mean of the two directions' R@1 and of their chances
  double prepare_seconds = 0, train_seconds = 0, eval_seconds = 0;  // wall clock
};

// The one description of TeacherTrainOptions (option_fields.h): kd-demo-teacher's options and the report's.
template <class O, class V, std::enable_if_t<std::is_same_v<std::remove_const_t<O>, TeacherTrainOptions>, int> = 0>
void visit_fields(O& o, V&& v) {
  v(o.data_dir, {"data_dir", "kd-demo-data output folder", kRequired, ~0u, "--data-dir,--data_dir"});
  v(o.out_dir, {"out", "teacher folder to write (HF layout + vocab.json/merges.txt + teacher-report.json)", kRequired});
  v(o.config.vision.image_size, {"image_size", "teacher input resolution in pixels (multiple of the patch size 16)"});
  v(o.epochs, {"epochs", "passes over the training images"});
  v(o.batch_size, {"batch_size", "contrastive batch size"});
  v(o.lr, {"lr", "peak learning rate (AdamW)"});
  v(o.min_lr, {"min_lr", "final learning rate of the cosine schedule"});
  v(o.weight_decay, {"weight_decay", "AdamW weight decay on matrices"});
  v(o.warmup_steps, {"warmup_steps", "linear warmup steps"});
  v(o.seed, {"seed", "initialisation and batching seed"});
  v(o.threads, {"threads", "CPU threads"});
  v(o.precision, {"precision", "training compute: bf16 (autocast, float32 weights) or fp32"});
  v(o.logit_scale_init, {"logit_scale_init", "initial logit multiplier (0: CLIP's 1/0.07)"});
  v(o.logit_scale_lr_factor, {"logit_scale_lr_factor", "logit scale learning rate / --lr"});
  v(o.max_train_seconds, {"max_train_seconds", "stop training past this wall time (0 = no limit)"});
  v(o.skip_pretrain, {"skip_pretrain", "train on DIR/image only, not on DIR/pretrain (the students' images alone)"});
  v(o.min_chance_multiple, {"min_chance_multiple", "fail (exit 1) when val R@1 is below this multiple of chance "
                                                   "(0 = never)"});
}

void validate(const TeacherTrainOptions& options);

// Loads the data, trains, evaluates, and saves to out_dir when given. Throws kd::Error for missing/bad data or
// (with min_chance_multiple > 0) a teacher that retrieves too poorly.
TeacherTrainResult train_demo_teacher(const TeacherTrainOptions& options);

// Human-readable summary lines, ending with
//   "teacher R@1 = X = Z× chance (chance Y: mean of image→text and text→image; ≥ R×: yes|NO)"
// where R = `required_multiple`.
std::string format_teacher_report(const TeacherTrainResult& result, double required_multiple = 5);

// Expected Recall@k of a random ranking: image→text with `captions_per_image[i]` own captions among `n_texts`
// (1 − C(Nt−c, k)/C(Nt, k), averaged over images), text→image k / n_images.
std::vector<double> chance_image_to_text(const std::vector<int64_t>& captions_per_image, int64_t n_texts,
                                         const std::vector<int64_t>& ks);
std::vector<double> chance_text_to_image(int64_t n_images, const std::vector<int64_t>& ks);

}  // namespace kd::demo
