// kd-demo-data: writes the offline demo's synthetic captioned images, captions and BPE vocabulary in the seed layout.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <thread>

#include "common/demo/synthetic_data.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  kd::demo::DemoDataOptions o;
  o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string out;
  CLI::App app{"Write the offline demo's data: procedural shape images drawn with libvips, template captions (COCO JSON "
               "and CC TSV) and a CLIP-format BPE vocabulary learned from them, in the seed data layout.", "kd-demo-data"};
  app.option_defaults()->always_capture_default();
  app.add_option("--out", out, "output folder (the data dir: image/, COCO/, CC/, vocab/)")->required();
  app.add_option("--train", o.n_train, "training images (DIR/image)")->check(CLI::PositiveNumber);
  app.add_option("--val", o.n_val, "validation images (DIR/COCO/val2017)")->check(CLI::PositiveNumber);
  app.add_option("--zeroshot", o.n_zeroshot, "one-colour images for zero-shot classification "
                                            "(DIR/zeroshot/<colour>/, colours in turn; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pretrain", o.n_pretrain, "extra images only the demo teacher trains on (DIR/pretrain; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed, "random seed; the output is identical for a seed");
  app.add_option("--size", o.image_size, "image side in pixels")->check(CLI::Range(32, 512));
  app.add_option("--captions-per-image", o.captions_per_image, "captions per image")->check(CLI::PositiveNumber);
  app.add_option("--max-groups", o.max_groups, "shape groups per scene at most (1 or 2)")->check(CLI::Range(1, 2));
  app.add_option("--max-merges", o.max_merges, "learned BPE merges at most")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", o.threads, "drawing threads")->check(CLI::PositiveNumber);
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress lines");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  o.out_dir = out;
  o.progress = !quiet;
  return kd::run_tool("kd-demo-data", [&] {
    const kd::demo::DemoDataSummary s = kd::demo::write_demo_data(o);
    std::printf("kd-demo-data: wrote %d train images (%lld captions), %d val images (%lld captions), %d zero-shot "
                "images, %d teacher pre-training images, %d learned BPE merges to %s in %.1f s\n",
                s.n_train, static_cast<long long>(s.n_train_captions), s.n_val, static_cast<long long>(s.n_val_captions),
                s.n_zeroshot, s.n_pretrain, s.n_learned_merges, out.c_str(), s.seconds);
    return 0;
  });
}
