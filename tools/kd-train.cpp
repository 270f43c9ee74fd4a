// kd-train: distil a CLIP student (image or text) from kd-extract's caches. Accepts the seed's command lines
// (`python main.py` flags, underscores or dashes). Options -> kd::TrainOptions; the work is kd::train_main.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <set>

#include "common/distill/trainer.h"
#include "common/util/error.h"
#include "tools/tool_main.h"

namespace {

// "--max_epochs" also as "--max-epochs".
std::string names(const std::string& seed_name) {
  std::string dashed = seed_name;
  for (char& c : dashed)
    if (c == '_') c = '-';
  return dashed == seed_name ? "--" + seed_name : "--" + seed_name + ",--" + dashed;
}

std::vector<double> to_doubles(const std::vector<std::string>& values, const char* key) {
  std::vector<double> out;
  for (const auto& v : kd::split_list(values)) {
    try {
      size_t used = 0;
      out.push_back(std::stod(v, &used));
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      throw kd::Error("not a number").key(key).got(v);
    }
  }
  return out;
}

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
  std::string data_dir, save_dir = o.save_dir.string(), resume, cache, val_cache, bank, teacher;
  std::vector<std::string> weight = {"0.6", "0.35", "0.05"}, loss_scale = {"1", "1", "1"}, loss = o.loss, gpus;
  auto* add = &app;
  add->add_option(names("data_dir"), data_dir, "seed data folder; caches are read from DATA/cache/{image,text,val}");
  add->add_option(names("dataset"), o.dataset, "image_dataset or text_dataset")->capture_default_str();
  add->add_option(names("model_name"), o.model_name, "run name: RUN = save_dir/model_name")->capture_default_str();
  add->add_option(names("save_dir"), save_dir, "where runs are written")->capture_default_str();
  add->add_option(names("batch_size"), o.batch_size, "global batch size")->capture_default_str();
  add->add_option(names("num_workers"), o.num_workers, "decode threads (TBB) preparing the next batch")
      ->capture_default_str();
  add->add_option(names("seed"), o.seed, "seed of initialisation, data order and views")->capture_default_str();
  add->add_option(names("lr"), o.lr, "peak learning rate")->capture_default_str();
  add->add_option(names("weight_decay"), o.weight_decay, "AdamW weight decay (not on biases, norms, embeddings)")
      ->capture_default_str();
  add->add_option(names("lr_scheduler"), o.lr_scheduler, "step or cosine")->capture_default_str();
  add->add_option(names("lr_decay_steps"), o.lr_decay_steps, "step: epochs between decays")->capture_default_str();
  add->add_option(names("lr_decay_rate"), o.lr_decay_rate, "step: factor per decay")->capture_default_str();
  add->add_option(names("lr_decay_min_lr"), o.lr_decay_min_lr, "lower bound of the learning rate")
      ->capture_default_str();
  add->add_option(names("input_resolution"), o.input_resolution, "image student input size")->capture_default_str();
  add->add_option(names("patch_size"), o.patch_size, "image student patch size")->capture_default_str();
  add->add_option(names("width"), o.width, "image student width")->capture_default_str();
  add->add_option(names("layers"), o.layers, "image student layers")->capture_default_str();
  add->add_option(names("heads"), o.heads, "image student heads")->capture_default_str();
  add->add_option(names("context_length"), o.context_length, "text student context")->capture_default_str();
  add->add_option(names("vocab_size"), o.vocab_size, "text student vocabulary")->capture_default_str();
  add->add_option(names("transformer_width"), o.transformer_width, "text student width")->capture_default_str();
  add->add_option(names("transformer_layers"), o.transformer_layers, "text student layers")->capture_default_str();
  add->add_option(names("transformer_heads"), o.transformer_heads, "text student heads")->capture_default_str();
  add->add_option(names("output_dim"), o.output_dim, "embedding width (the teacher's)")->capture_default_str();
  add->add_option(names("aug_prob"), o.aug_prob, "recorded; views and flips come from the image cache")
      ->capture_default_str();
  add->add_option(names("t"), o.t, "temperature of kl and ce")->capture_default_str();
  add->add_option(names("weight"), weight, "loss weights, in --loss order (space or comma separated)")
      ->capture_default_str();
  CLI::Option* scale_opt =
      add->add_option(names("loss_scale"), loss_scale, "loss scales, in --loss order")->capture_default_str();
  add->add_option(names("loss"), loss, "losses: l1 kl ce cos fd affinity affinity_topk icl")->capture_default_str();
  add->add_option(names("gpus"), gpus, "CUDA devices, e.g. 0,1,2,3 (without CUDA: CPU processes)");
  add->add_option(names("strategy"), o.strategy, "auto or ddp (one process per device)")->capture_default_str();
  add->add_option(names("precision"), o.precision, "32, 16 (fp16 autocast, CUDA) or bf16")->capture_default_str();
  add->add_option(names("max_epochs"), o.max_epochs, "epochs")->capture_default_str();
  add->add_option(names("resume"), resume,
                  "continue the run in this folder from checkpoints/last.ckpt; other options may repeat the run's "
                  "values, and only --max_epochs, --max_steps, --val-every-steps, --checkpoint-every-steps, "
                  "--save-top-k, --threads, --num_workers and --quiet may change");
  add->add_option("--cache", cache, "training cache (default DATA/cache/image or DATA/cache/text)");
  add->add_option("--val-cache,--val_cache", val_cache, "val cache (default DATA/cache/val when present)");
  add->add_option("--bank", bank, "cache of the other modality (affinity, icl)");
  add->add_option("--teacher", teacher, "teacher weights, for --init-from-teacher");
  add->add_flag("--init-from-teacher,--init_from_teacher", o.init_from_teacher,
                "copy teacher tensors whose name and shape match the student's");
  add->add_option("--warmup-steps,--warmup_steps", o.warmup_steps, "linear warmup (cosine)")->capture_default_str();
  add->add_option("--clip-grad-norm,--clip_grad_norm", o.clip_grad_norm, "gradient clipping (0: off)")
      ->capture_default_str();
  add->add_option("--val-every-steps", o.val_every_steps, "validate every N steps (0: every epoch)")
      ->capture_default_str();
  add->add_option("--checkpoint-every-steps", o.checkpoint_every_steps, "checkpoint every N steps (0: every epoch)")
      ->capture_default_str();
  add->add_option("--save-top-k,--save_top_k", o.save_top_k, "best checkpoints kept by val_acc")
      ->capture_default_str();
  add->add_option("--max-steps,--max_steps", o.max_steps, "stop after N steps (0: after max_epochs)")
      ->capture_default_str();
  add->add_option("--threads", o.threads, "intra-op threads per process (0: default)")->capture_default_str();
  add->add_flag("--quiet", o.quiet, "no progress on stderr");
  add->add_flag("--overwrite", o.overwrite,
                "start a new run in a folder that holds one: delete its config, metrics, student and checkpoints "
                "(without it such a folder is refused)");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;

  return kd::run_tool("kd-train", [&] {
    o.data_dir = data_dir;
    o.save_dir = save_dir;
    o.resume = resume;
    o.cache = cache;
    o.val_cache = val_cache;
    o.bank = bank;
    o.teacher = teacher;
    o.weight = to_doubles(weight, "--weight");
    // Scales default to 1 for whatever losses are chosen; weights must match an explicit --loss.
    o.loss_scale = scale_opt->count() ? to_doubles(loss_scale, "--loss_scale") : std::vector<double>{};
    o.loss = kd::split_list(loss);
    o.gpus = kd::split_list(gpus);
    return kd::train_main(o, std::vector<std::string>(argv + 1, argv + argc), explicit_option_keys(app));
  });
}
