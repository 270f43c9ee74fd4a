// kd-train: distil a CLIP student (image or text) from kd-extract's caches. Accepts the seed's command lines
// (`python main.py` flags, underscores or dashes). Here: options (kd::TrainOptions' one description), --resume's
// reading of RUN/config.json, the thread limits, and `--gpus a,b --strategy ddp` without a launcher: one process per
// device (this program again, with the torchrun variables). Each process runs kd::run_training.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <tbb/global_control.h>

#include <cstdio>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/distill/process_spawn.h"
#include "common/distill/run_folder.h"
#include "common/distill/trainer.h"
#include "common/util/atomic_file.h"
#include "tools/option_cli.h"
#include "tools/tool_main.h"

namespace {

// The config.json keys of the options given on the command line ("--max-epochs" -> "max_epochs"), for --resume.
std::set<std::string> explicit_option_keys(const CLI::App& app) {
  std::set<std::string> keys;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    std::string key = opt->get_lnames().front();
    for (char& c : key)
      if (c == '-') c = '_';
    keys.insert(key);
  }
  return keys;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kd-train: distil a CLIP student from teacher caches (kd-extract); seed flags accepted", "kd-train"};
  kd::TrainOptions o;
  kd::bind_options(app, o);
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;

  return kd::run_tool("kd-train", [&] {
    const kd::DistEnv env = kd::dist_env_from_environment();
    if (!o.resume.empty()) {
      std::vector<std::string> changes;
      o = kd::options_for_resume(o, explicit_option_keys(app), &changes);
      for (const auto& c : changes)  // printed once, by the process the user started
        if (!o.quiet && !env.from_launcher) std::fprintf(stderr, "kd-train: --resume changes %s\n", c.c_str());
    }
    o = kd::resolve_train_options(o);
    const bool want_ddp = o.strategy == kd::Strategy::kDdp && o.gpus.size() > 1;
    const bool cuda = !o.gpus.empty() && at::hasCUDA();
    if (!o.gpus.empty() && !cuda && !o.quiet && env.rank == 0)
      std::fprintf(stderr, "kd-train: no CUDA here: --gpus %zu device(s) run as %s on CPU\n", o.gpus.size(),
                   want_ddp ? "that many Gloo processes" : "one process");
    if (o.precision == kd::Precision::kFp16 && !cuda && !o.quiet && env.rank == 0)
      std::fprintf(stderr, "kd-train: --precision 16 (fp16) needs CUDA; using bf16 autocast on CPU\n");
    if (!env.from_launcher && want_ddp) {
      kd::SpawnOptions spawn;
      spawn.n_procs = static_cast<int>(o.gpus.size());
      spawn.args = std::vector<std::string>(argv + 1, argv + argc);
      const kd::SpawnResult r = kd::spawn_local_workers(spawn);
      if (!r.ok) std::fprintf(stderr, "kd-train: worker %d failed\n", r.first_failed_rank);
      return r.ok ? 0 : 1;
    }
    // This process's thread limits: intra-op (--threads) and the decode workers (--num_workers, TBB).
    if (o.threads > 0) at::set_num_threads(o.threads);
    std::optional<tbb::global_control> workers;
    if (o.num_workers > 0)
      workers.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(o.num_workers));
    kd::run_training(o, env);
    return 0;
  });
}
