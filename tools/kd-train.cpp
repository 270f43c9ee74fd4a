// kd-train: distil a CLIP student (image or text) from kd-extract's caches. Accepts the seed's command lines
// (`python main.py` flags, underscores or dashes). Options come from kd::TrainOptions' one description; this
// process's thread limits are set here; the work is kd::train_main.
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <tbb/global_control.h>

#include <cstdio>
#include <optional>

#include "common/distill/trainer.h"
#include "tools/option_cli.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  CLI::App app{"kd-train: distil a CLIP student from teacher caches (kd-extract); seed flags accepted", "kd-train"};
  kd::TrainOptions o;
  kd::bind_options(app, o);
  CLI11_PARSE(app, argc, argv);

  return kd::run_tool("kd-train", [&] {
    // This process's thread limits: intra-op (--threads) and the decode workers (--num_workers, TBB).
    if (o.threads < 0) throw kd::Error("must not be negative").key("--threads").got(std::to_string(o.threads));
    if (o.threads > 0) at::set_num_threads(o.threads);
    std::optional<tbb::global_control> workers;
    if (o.num_workers > 0)
      workers.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(o.num_workers));
    return kd::train_main(o, std::vector<std::string>(argv + 1, argv + argc));
  });
}
