// kd-extract: run the CLIP teacher once over images or captions and write a sharded HDF5 cache.
// Options (kd::ExtractOptions' one description) are parsed here, thread limits set here; the work is kd::run_extract
// (common/extract/extract_run.h).
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <tbb/global_control.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "common/extract/extract_run.h"
#include "tools/option_cli.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  CLI::App app{"kd-extract: run the CLIP teacher once and write its embeddings to a sharded HDF5 cache "
               "(docs/cache-format.md)", "kd-extract"};
  app.require_subcommand(1);
  kd::ExtractOptions image, text, val;
  image.kind = kd::ExtractKind::kImage;
  text.kind = kd::ExtractKind::kText;
  val.kind = kd::ExtractKind::kVal;

  CLI::App* ic = app.add_subcommand("image", "training images: V views each (view 0 = centre crop)");
  CLI::App* tc = app.add_subcommand("text", "training captions (COCO JSON, CC TSV, or one caption per line)");
  CLI::App* vc = app.add_subcommand("val", "an evaluation set, one shard: COCO val2017 images and all their captions, "
                                    "or one split of a Karpathy split file (COCO 5k / Flickr30k 1k test)");
  kd::bind_options(*ic, image, kd::kScopeImage);
  kd::bind_options(*tc, text, kd::kScopeText);
  kd::bind_options(*vc, val, kd::kScopeVal);

  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  kd::ExtractOptions& chosen = ic->parsed() ? image : tc->parsed() ? text : val;
  return kd::run_tool("kd-extract", [&] {
    const kd::ExtractOptions o = kd::resolve_extract_options(chosen);
    // This process's thread limits: TBB (decoding) and LibTorch's intra-op threads.
    std::optional<tbb::global_control> tbb_threads;
    if (o.threads > 0) {
      tbb_threads.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(o.threads));
      at::set_num_threads(o.threads);
    }
    kd::ExtractSummary s = kd::run_extract(o);
    if (s.rows_cached == 0) {
      std::fprintf(stderr, "kd-extract: nothing was cached (every input was skipped)\n");
      return 1;
    }
    if (chosen.strict && s.rows_skipped > 0) {
      std::fprintf(stderr, "kd-extract: %lld inputs skipped and --strict given\n", (long long)s.rows_skipped);
      return 1;
    }
    return 0;
  });
}
