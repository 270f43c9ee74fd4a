// The training loop, resume, validation and checkpoint cadence of kd-train.
#include "common/distill/trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "common/distill/autocast_guard.h"
#include "common/distill/distill_loss.h"
#include "common/distill/loss_scaler.h"
#include "common/distill/lr_schedule.h"
#include "common/distill/param_groups.h"
#include "common/distill/process_group.h"
#include "common/distill/process_spawn.h"
#include "common/distill/run_checkpoint.h"
#include "common/distill/student_data.h"
#include "common/extract/logit_bank.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/progress.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

bool needs_bank(const std::vector<LossSpec>& specs) {
  for (const auto& s : specs)
    if (s.name == "affinity" || s.name == "affinity_topk" || s.name == "icl") return true;
  return false;
}

at::Device resolve_device(const TrainOptions& o, const DistEnv& env) {
  if (o.gpus.empty() || !at::hasCUDA()) return at::Device(at::kCPU);
  const size_t i = static_cast<size_t>(env.local_rank) % o.gpus.size();
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(std::stoi(o.gpus[i])));
}

at::ScalarType amp_dtype(const TrainOptions& o, const at::Device& device) {
  if (o.precision == Precision::kBf16) return at::kBFloat16;
  if (o.precision == Precision::kFp16) return device.is_cuda() ? at::kHalf : at::kBFloat16;  // CPU: bf16 (warned)
  return at::kFloat;
}

LrScheduleConfig lr_config(const TrainOptions& o, int64_t total_steps) {
  LrScheduleConfig c;
  c.kind = o.lr_scheduler;
  c.base_lr = o.lr;
  c.min_lr = o.lr_decay_min_lr;
  c.warmup_steps = o.warmup_steps;
  c.total_steps = std::max<int64_t>(1, total_steps);
  c.decay_epochs = o.lr_decay_steps;
  c.rate = o.lr_decay_rate;
  validate(c);
  return c;
}

// Copies teacher tensors into the student wherever name and shape agree ("where shapes allow").
int copy_from_teacher(ClipModel& student, const fs::path& teacher) {
  ClipModel t = load_clip(teacher).model;
  std::map<std::string, at::Tensor> source;
  for (auto& [n, v] : t.named_tensors()) source[n] = v;
  int copied = 0;
  at::NoGradGuard no_grad;
  for (auto& [n, v] : student.named_tensors()) {
    auto it = source.find(n);
    if (it != source.end() && it->second.sizes() == v.sizes()) {
      v.copy_(it->second);
      ++copied;
    }
  }
  return copied;
}

// Keeps the lines of metrics.jsonl up to `step` (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const fs::path& file, int64_t step) {
  if (!fs::exists(file)) return;
  std::ifstream in(file);
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t(0)) <= step) kept += line + "\n";
  }
  write_file_atomic(file, kept);
}

void append_line(const fs::path& file, const nlohmann::json& j) {
  std::ofstream out(file, std::ios::app);
  out << j.dump() << "\n";
}

}  // namespace

TrainResult run_training(const TrainOptions& o, const DistEnv& env) {
  const bool image = is_image_student(o);
  const fs::path run = o.save_dir / o.model_name;
  const fs::path ckpt_dir = run / "checkpoints", last = ckpt_dir / "last.ckpt", metrics = run / "metrics.jsonl";
  const at::Device device = resolve_device(o, env);
  DistContext dist = DistContext::create(env, device);
  const bool main = dist.is_main();
  const std::string tool = std::string("kd-train ") + (image ? "image" : "text");

  const ClipConfig config = student_config(o);
  StudentDataset data(o.cache, image, static_cast<int>(config.vision.image_size),
                      static_cast<int>(config.text.context_length));
  if (data.embed_dim() != config.embed_dim)
    throw Error("student output width differs from the teacher's embeddings").key("--output_dim")
        .expected(std::to_string(data.embed_dim())).got(std::to_string(config.embed_dim));
  std::optional<ValCache> val;
  if (!o.val_cache.empty()) {
    val = read_val_cache(o.val_cache);
    if (val->teacher_id != data.teacher_id())
      throw Error("val cache was made by another teacher than the training cache").file(o.val_cache.string())
          .key("teacher_id").expected(data.teacher_id()).got(val->teacher_id);
  }
  const std::vector<LossSpec> specs = parse_loss_specs(o.loss, o.weight, o.loss_scale);
  DistillLoss loss_fn(specs, o.t, data.logit_scale());
  std::optional<LogitBank> bank;
  if (needs_bank(specs)) {
    if (o.bank.empty() || !data.has_topk())
      throw Error("affinity and icl losses need the other modality's cache and cached top-K logits").key("--bank")
          .hint("extract with `kd-extract ... --bank OTHER_CACHE`, then train with --bank OTHER_CACHE");
    bank = load_logit_bank(o.bank, image ? "text" : "image", data.teacher_id());
    if (bank->id != data.bank_id())
      throw Error("--bank is not the cache the logits were computed against").file(o.bank.string())
          .key("bank_id").expected(data.bank_id()).got(bank->id);
    bank->embeds = bank->embeds.to(device);
  }

  ClipModel student = ClipModel::create(config, o.seed);
  if (o.init_from_teacher) {
    const int copied = copy_from_teacher(student, o.teacher);
    if (main && !o.quiet) std::fprintf(stderr, "%s: %d tensors initialised from the teacher\n", tool.c_str(), copied);
  }
  student.to(device, at::kFloat);
  torch::nn::Module& module = image ? static_cast<torch::nn::Module&>(*student.visual)
                                    : static_cast<torch::nn::Module&>(*student.text);
  module.train();
  std::vector<at::Tensor> params = student.parameters();
  dist.broadcast_parameters(params);
  AdamWSettings adamw;
  adamw.lr = o.lr;
  adamw.weight_decay = o.weight_decay;
  torch::optim::AdamW optimizer(adamw_param_groups(module, adamw));
  LossScalerOptions scaler_options;
  scaler_options.enabled = amp_dtype(o, device) == at::kHalf;
  LossScaler scaler(scaler_options);

  const int64_t steps_per_epoch = batches_per_epoch(data.size(), o.batch_size);
  int64_t total_steps = o.max_epochs * steps_per_epoch;
  if (o.max_steps > 0) total_steps = std::min(total_steps, o.max_steps);
  const LrScheduleConfig schedule = lr_config(o, total_steps);
  NamedTensors named = student.named_tensors();
  NamedGenerators generators;

  RunCheckpointState state;
  if (!o.resume.empty() && fs::exists(last)) {
    state = load_run_checkpoint(last, named, optimizer, generators);
    scaler.load_state(state.loss_scaler);
    if (main) truncate_metrics(metrics, state.step);
    if (main && !o.quiet)
      std::fprintf(stderr, "%s: resumed %s at epoch %lld, step %lld\n", tool.c_str(), last.string().c_str(),
                   (long long)state.epoch, (long long)state.step);
  } else if (main) {
    fs::create_directories(ckpt_dir);
    write_file_atomic(run / "config.json", train_options_to_json(o).dump(2) + "\n");
    write_file_atomic(metrics, "");
  }

  TrainResult result;
  result.run_dir = run;
  const at::ScalarType amp = amp_dtype(o, device);
  auto save_checkpoint = [&](const nlohmann::json& extra) {
    if (!main) return;
    state.loss_scaler = scaler.state();
    state.lr_schedule = {{"kind", enum_name(schedule.kind)}, {"base_lr", schedule.base_lr}, {"total_steps", schedule.total_steps}};
    state.extra = extra;
    save_run_checkpoint(last, named, optimizer, generators, state);
    if (extra.contains("val_acc") && o.save_top_k > 0) keep_best_k(ckpt_dir, last, o.save_top_k, "val_acc");
  };
  auto validate_now = [&]() -> nlohmann::json {
    if (!val) return nlohmann::json::object();
    module.eval();
    nlohmann::json j;
    if (main) {
      ValMetrics m = validate_student(student, *val, device, std::max<int64_t>(o.batch_size, 64));
      result.val.push_back(m);
      j = m.to_json();
      append_line(metrics, {{"step", state.step}, {"epoch", state.epoch}, {"val", j}});
      if (!o.quiet)
        std::fprintf(stderr, "%s: validation at step %lld: val_acc %.4f, I->T R@1/5/10 %.3f/%.3f/%.3f, T->I %.3f/%.3f/%.3f, cosine %.4f\n",
                     tool.c_str(), (long long)state.step, m.val_acc, m.image_to_text[0], m.image_to_text[1],
                     m.image_to_text[2], m.text_to_image[0], m.text_to_image[1], m.text_to_image[2], m.mean_cosine);
    }
    dist.barrier();
    module.train();
    return j;
  };

  Progress progress(tool, total_steps - state.step, "steps", o.quiet || !main);
  double epoch_loss_sum = 0;
  int64_t epoch_loss_n = 0;
  bool stop = state.step >= total_steps;
  for (int64_t epoch = state.epoch; epoch < o.max_epochs && !stop; ++epoch) {
    const std::vector<int64_t> order = epoch_order(data.size(), o.seed, epoch);
    const int64_t first_batch = epoch == state.epoch ? state.batch_in_epoch : 0;
    auto load = [&](int64_t b) {
      return data.load(rank_slice(order, b, o.batch_size, dist.rank(), dist.world_size()), epoch, o.seed);
    };
    std::future<TrainingBatch> next = std::async(std::launch::async, load, first_batch);
    epoch_loss_sum = 0;
    epoch_loss_n = 0;
    for (int64_t b = first_batch; b < steps_per_epoch && !stop; ++b) {
      const auto t0 = std::chrono::steady_clock::now();
      TrainingBatch batch = next.get();
      if (b + 1 < steps_per_epoch) next = std::async(std::launch::async, load, b + 1);
      const double lr = learning_rate(schedule, state.step, steps_per_epoch);
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      optimizer.zero_grad();
      at::Tensor embeds;
      {
        AutocastGuard autocast(device.type(), amp);
        TowerOutput out = image ? student.visual->forward(batch.inputs.to(device))
                                : student.text->forward(batch.inputs.to(device));
        embeds = out.embeds;
      }
      DistillBatch db;
      db.student = embeds.to(at::kFloat);
      db.teacher = batch.teacher.to(device);
      if (bank) {
        db.bank = bank->embeds;
        db.teacher_topk_logits = batch.topk_values.to(device);
        db.teacher_topk_indices = batch.topk_index.to(device);
        db.teacher_other = bank->embeds.index_select(0, db.teacher_topk_indices.select(1, 0));
      }
      DistillLossResult loss = loss_fn(db);
      scaler.scale_loss(loss.total).backward();
      dist.allreduce_gradients(params);
      bool finite = true;
      if (scaler.enabled()) finite = scaler.unscale_and_check(params);
      if (finite && o.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(params, o.clip_grad_norm);
      if (finite) optimizer.step();
      if (scaler.enabled()) scaler.update(!finite);

      std::vector<at::Tensor> values = {loss.total.detach().to(at::kCPU, at::kDouble).reshape({1})};
      for (auto& [name, term] : loss.terms) values.push_back(term.detach().to(at::kCPU, at::kDouble).reshape({1}));
      at::Tensor mean = dist.allreduce_mean(at::cat(values).to(device)).to(at::kCPU);
      ++state.step;
      state.batch_in_epoch = b + 1;
      state.epoch = epoch;
      state.samples_seen += std::min(o.batch_size, data.size());
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      epoch_loss_sum += mean[0].item<double>();
      ++epoch_loss_n;
      if (main) {
        nlohmann::json line = {{"step", state.step}, {"epoch", epoch}, {"loss", mean[0].item<double>()},
                               {"lr", lr}, {"samples_per_s", std::min(o.batch_size, data.size()) / seconds}};
        for (size_t i = 0; i < loss.terms.size(); ++i) line["loss_" + loss.terms[i].first] = mean[i + 1].item<double>();
        if (scaler.enabled()) line["loss_scale"] = scaler.scale();
        if (!finite) line["skipped_step"] = true;
        append_line(metrics, line);
      }
      if (result.steps == 0) result.first_loss = mean[0].item<double>();
      result.steps = state.step;
      progress.add(1);
      stop = state.step >= total_steps;
      const bool val_now = o.val_every_steps > 0 && state.step % o.val_every_steps == 0;
      nlohmann::json extra = val_now ? validate_now() : nlohmann::json::object();
      if (val_now || (o.checkpoint_every_steps > 0 && state.step % o.checkpoint_every_steps == 0)) {
        if (b + 1 == steps_per_epoch) {  // the epoch is done: store the position as the next epoch's start
          state.epoch = epoch + 1;
          state.batch_in_epoch = 0;
        }
        save_checkpoint(extra);
      }
    }
    if (next.valid()) next.wait();
    if (epoch_loss_n > 0) result.last_loss = epoch_loss_sum / epoch_loss_n;
    if (state.batch_in_epoch >= steps_per_epoch) {
      state.epoch = epoch + 1;
      state.batch_in_epoch = 0;
      nlohmann::json extra = o.val_every_steps > 0 ? nlohmann::json::object() : validate_now();
      if (main && !o.quiet)
        std::fprintf(stderr, "%s: epoch %lld/%lld done, mean loss %.5f\n", tool.c_str(), (long long)epoch + 1,
                     (long long)o.max_epochs, result.last_loss);
      save_checkpoint(extra);
    }
  }
  progress.finish();
  if (main) {
    save_clip_openai_safetensors(student, run / "student.safetensors",
                                 {{"kd_teacher_id", data.teacher_id()}, {"kd_train_steps", std::to_string(state.step)}});
    if (!o.quiet) std::fprintf(stderr, "%s: student written to %s\n", tool.c_str(), (run / "student.safetensors").c_str());
  }
  dist.barrier();
  return result;
}

int train_main(TrainOptions o, const std::vector<std::string>& child_args) {
  if (!o.resume.empty()) {
    const fs::path config = o.resume / "config.json";
    TrainOptions saved = train_options_from_json(nlohmann::json::parse(read_file(config), nullptr, false),
                                                 config.string());
    saved.resume = o.resume;
    saved.save_dir = o.resume.parent_path();
    saved.model_name = o.resume.filename().string();
    saved.quiet = o.quiet;
    o = saved;
  }
  o = resolve_train_options(o);
  const DistEnv env = dist_env_from_environment();
  const bool want_ddp = o.strategy == Strategy::kDdp && o.gpus.size() > 1;
  if (!o.gpus.empty() && !at::hasCUDA() && !o.quiet && env.rank == 0)
    std::fprintf(stderr, "kd-train: no CUDA here: --gpus %zu device(s) run as %s on CPU\n", o.gpus.size(),
                 want_ddp ? "that many Gloo processes" : "one process");
  if (o.precision == Precision::kFp16 && (o.gpus.empty() || !at::hasCUDA()) && !o.quiet && env.rank == 0)
    std::fprintf(stderr, "kd-train: --precision 16 (fp16) needs CUDA; using bf16 autocast on CPU\n");
  if (!env.from_launcher && want_ddp) {
    SpawnOptions spawn;
    spawn.n_procs = static_cast<int>(o.gpus.size());
    spawn.args = child_args;
    SpawnResult r = spawn_local_workers(spawn);
    if (!r.ok) {
      std::fprintf(stderr, "kd-train: worker %d failed\n", r.first_failed_rank);
      return 1;
    }
    return 0;
  }
  run_training(o, env);
  return 0;
}

}  // namespace kd
