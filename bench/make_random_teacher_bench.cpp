// Benchmark helper (not a test): writes a ViT-B/32 CLIP with random weights (ClipModel::create(vit_b_32_config(),
// seed)) as an OpenAI-layout .safetensors, the teacher bench/run-benchmarks.sh times kd-extract and kd-train with.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/clip_model.h"
#include "common/util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Write a random-weight ViT-B/32 CLIP teacher (OpenAI .safetensors layout)"};
  std::string out;
  uint64_t seed = 1;
  app.add_option("--out", out, "output .safetensors file")->required();
  app.add_option("--seed", seed, "initialisation seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    kd::save_clip_openai_safetensors(kd::ClipModel::create(kd::vit_b_32_config(), seed), out);
  } catch (const kd::Error& e) {
    std::fprintf(stderr, "make_random_teacher_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
