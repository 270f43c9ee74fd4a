// kd-extract: run the CLIP teacher once over images or captions and write a sharded HDF5 cache.
// Options are parsed into kd::ExtractOptions; the work is kd::run_extract (common/extract/extract_run.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "common/extract/extract_run.h"
#include "tools/tool_main.h"

namespace {

void add_common(CLI::App* cmd, kd::ExtractOptions& o) {
  cmd->add_option("--teacher", o.teacher, "teacher: Hugging Face CLIP folder, OpenAI .pt or .safetensors");
  cmd->add_option("--vocab", o.vocab, "BPE vocabulary (.txt.gz or folder with vocab.json + merges.txt); "
                                      "default: beside the teacher");
  cmd->add_option("--out", o.out, "cache folder (default with --data-dir: DATA/cache/<kind>)");
  cmd->add_option("--data-dir", o.data_dir, "seed data layout root; fills --images/--captions/--out");
  cmd->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", o.precision, "teacher compute precision: fp32, fp16 (CUDA), bf16")
      ->capture_default_str();
  cmd->add_option("--batch", o.batch, "inputs per teacher call")->capture_default_str();
  cmd->add_option("--threads", o.threads, "decode and compute threads (0: TBB decodes on all cores, LibTorch keeps its default, OMP_NUM_THREADS)")->capture_default_str();
  cmd->add_option("--dtype", o.dtype, "stored embeddings: fp16 or fp32 (default: fp16; fp32 for val)");
  cmd->add_option("--shard-size", o.shard_size, "rows per shard")->capture_default_str();
  cmd->add_option("--num-shards", o.num_shards, "number of workers (default: WORLD_SIZE or SLURM_NTASKS, else 1)");
  cmd->add_option("--shard-index", o.shard_index, "this worker (default: RANK or SLURM_PROCID, else 0)");
  cmd->add_flag("--strict", o.strict, "exit with status 1 when any input was skipped");
  cmd->add_flag("--force", o.force, "rebuild a cache that was made with other options or another teacher");
  cmd->add_flag("--quiet", o.quiet, "no progress or summary on stderr");
}

void add_images(CLI::App* cmd, kd::ExtractOptions& o) {
  cmd->add_option("--images", o.images, "image folder, or a text file with one path per line");
  cmd->add_option("--resize", o.resize, "exact (PIL-identical bicubic) or fast (DCT-scaled JPEG decode, not PIL's)")
      ->capture_default_str();
  cmd->add_option("--max-pixels", o.max_pixels, "skip larger images (0: no limit)")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kd-extract: run the CLIP teacher once and write its embeddings to a sharded HDF5 cache "
               "(docs/cache-format.md)", "kd-extract"};
  app.require_subcommand(1);
  kd::ExtractOptions image, text, val;
  image.kind = kd::ExtractKind::kImage;
  text.kind = kd::ExtractKind::kText;
  val.kind = kd::ExtractKind::kVal;

  CLI::App* ic = app.add_subcommand("image", "training images: V views each (view 0 = centre crop)");
  add_common(ic, image);
  add_images(ic, image);
  ic->add_flag("--recursive", image.recursive, "descend into sub-folders of --images");
  ic->add_option("--views", image.views, "views per image")->capture_default_str();
  ic->add_option("--aug-prob", image.aug_prob, "horizontal flip probability of views 1..V-1")->capture_default_str();
  ic->add_option("--scale-min", image.scale_min, "smallest crop area fraction of views 1..V-1")->capture_default_str();
  ic->add_option("--seed", image.seed, "seed of the views (with each image's key and view index)")
      ->capture_default_str();
  ic->add_option("--bank", image.bank, "text cache: also store the teacher's top-K image->text logits");
  ic->add_option("--topk", image.topk, "K for --bank")->capture_default_str();

  CLI::App* tc = app.add_subcommand("text", "training captions (COCO JSON, CC TSV, or one caption per line)");
  add_common(tc, text);
  tc->add_option("--captions", text.captions, "caption files");
  tc->add_option("--format", text.caption_format, "auto, coco, cc or lines")->capture_default_str();
  tc->add_option("--bank", text.bank, "image cache: also store the teacher's top-K text->image logits");
  tc->add_option("--topk", text.topk, "K for --bank")->capture_default_str();

  CLI::App* vc = app.add_subcommand("val", "an evaluation set, one shard: COCO val2017 images and all their captions, "
                                    "or one split of a Karpathy split file (COCO 5k / Flickr30k 1k test)");
  add_common(vc, val);
  add_images(vc, val);
  vc->add_option("--captions", val.captions, "COCO captions JSON (captions_val2017.json; --images: the image folder) "
                                             "or Karpathy split file (dataset_coco.json; --images: the folder its "
                                             "filepath/filename are relative to, e.g. DATA/COCO holding val2014/)");
  vc->add_option("--split", val.split, "split of a Karpathy split file: test, val, train or restval")
      ->capture_default_str();

  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  kd::ExtractOptions& chosen = ic->parsed() ? image : tc->parsed() ? text : val;
  return kd::run_tool("kd-extract", [&] {
    kd::ExtractSummary s = kd::run_extract(kd::resolve_extract_options(chosen));
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
