// kd-demo-teacher: trains the offline demo's small CLIP teacher contrastively on kd-demo-data output and reports its
// val retrieval against chance.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/demo/contrastive_teacher.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  kd::demo::TeacherTrainOptions o;
  std::string data_dir, out_dir;
  int64_t image_size = o.config.vision.image_size;
  CLI::App app{"Train the offline demo's small CLIP teacher (symmetric InfoNCE, AdamW) on kd-demo-data output; save "
               "it as a Hugging Face folder with its vocabulary; print val R@1/5/10 against chance.", "kd-demo-teacher"};
  app.option_defaults()->always_capture_default();
  app.add_option("--data-dir", data_dir, "kd-demo-data output folder")->required();
  app.add_option("--out", out_dir, "teacher folder to write (HF layout + vocab.json/merges.txt + teacher-report.json)")
      ->required();
  app.add_option("--image-size", image_size, "teacher input resolution in pixels (multiple of the patch size 16)")
      ->check(CLI::Range(16, 512));
  app.add_option("--epochs", o.epochs, "passes over the training images")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", o.batch_size, "contrastive batch size")->check(CLI::Range(2, 65536));
  app.add_option("--lr", o.lr, "peak learning rate (AdamW)");
  app.add_option("--min-lr", o.min_lr, "final learning rate of the cosine schedule");
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay on matrices");
  app.add_option("--warmup-steps", o.warmup_steps, "linear warmup steps");
  app.add_option("--seed", o.seed, "initialisation and batching seed");
  app.add_option("--threads", o.threads, "CPU threads")->check(CLI::PositiveNumber);
  app.add_option("--max-train-seconds", o.max_train_seconds, "stop training past this wall time (0 = no limit)");
  app.add_option("--min-chance-multiple", o.min_chance_multiple,
                 "fail (exit 1) when val R@1 is below this multiple of chance (0 = never)");
  std::string precision = "bf16";
  app.add_option("--precision", precision, "training compute: bf16 (autocast, float32 weights) or fp32")
      ->check(CLI::IsMember({"bf16", "fp32"}));
  app.add_option("--logit-scale-init", o.logit_scale_init, "initial logit multiplier (0: CLIP's 1/0.07)");
  app.add_option("--logit-scale-lr-factor", o.logit_scale_lr_factor, "logit scale learning rate / --lr");
  std::string config_file;
  app.add_option("--config", config_file,
                 "train this architecture instead of the demo teacher's (a Hugging Face CLIP config.json; "
                 "--image-size is then ignored): e.g. a student-shaped CLIP trained without a teacher");
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress lines");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  o.data_dir = data_dir;
  o.out_dir = out_dir;
  o.progress = !quiet;
  o.bf16 = precision == "bf16";
  return kd::run_tool("kd-demo-teacher", [&] {
    if (config_file.empty())
      o.config.vision.image_size = image_size;
    else
      o.config = kd::read_hf_clip_config(config_file);
    const kd::demo::TeacherTrainResult r = kd::demo::train_demo_teacher(o);
    std::printf("%s\n",
                kd::demo::format_teacher_report(r, o.min_chance_multiple > 0 ? o.min_chance_multiple : 5).c_str());
    std::printf("kd-demo-teacher: wrote %s\n", out_dir.c_str());
    return 0;
  });
}
