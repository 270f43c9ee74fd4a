// TrainSession: building a run (or resuming it), one training step, validation, checkpoints, the student file.
#include "common/distill/train_session.h"

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <future>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/tokenizer_files.h"
#include "common/distill/autocast_guard.h"
#include "common/distill/distill_loss.h"
#include "common/distill/metrics_log.h"
#include "common/distill/optimizer_step.h"
#include "common/distill/param_groups.h"
#include "common/distill/process_group.h"
#include "common/distill/run_folder.h"
#include "common/distill/teacher_inheritance.h"
#include "common/distill/training_curves.h"
#include "common/distill/training_source.h"
#include "common/eval/val_cache.h"
#include "common/extract/logit_bank.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

at::Device resolve_device(const TrainOptions& o, const DistEnv& env) {
  if (o.gpus.empty() || !at::hasCUDA()) return at::Device(at::kCPU);
  const size_t i = static_cast<size_t>(env.local_rank) % o.gpus.size();
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(std::stoi(o.gpus[i])));
}

// fp16 needs CUDA: on CPU it runs as bf16 autocast (kd-train says so when it starts).
at::ScalarType amp_dtype(Precision p, const at::Device& device) {
  switch (p) {
    case Precision::kBf16: return at::kBFloat16;
    case Precision::kFp16: return device.is_cuda() ? at::kHalf : at::kBFloat16;
    case Precision::kFp32: break;
  }
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
  return c;
}

}  // namespace

struct TrainSession::Parts {
  std::optional<RunFolderLock> lock;  // rank 0, for the session's life
  at::Device device = at::kCPU;
  at::ScalarType amp = at::kFloat;
  DistContext dist;
  std::unique_ptr<TrainingSource> source;
  std::optional<ValCache> val;
  std::optional<DistillLoss> loss;
  unsigned inputs = 0;  // LossInput bits the losses read
  std::optional<LogitBank> bank;
  ClipModel student;
  torch::nn::Module* tower = nullptr;  // the student's trained tower
  std::optional<OptimizerStep> optimizer;
  NamedTensors named;
  NamedGenerators generators;  // none: every random choice is a pure function of (seed, epoch, row)
  std::optional<MetricsLog> metrics;
  // The prepared next batch and its place.
  std::future<TrainingBatch> next;
  int64_t next_epoch = -1, next_index = -1;
};

bool TrainSession::is_main() const { return p_->dist.is_main(); }

TrainSession::TrainSession(const TrainOptions& o, const DistEnv& env, std::unique_ptr<TrainingSource> source)
    : o_(o), run_(o.save_dir / o.model_name), p_(std::make_unique<Parts>()) {
  Parts& p = *p_;
  const bool image = is_image_student(o);
  if (env.rank == 0) {
    p.lock.emplace(run_);
    if (o.resume.empty()) prepare_new_run_folder(run_, o.overwrite);
  }
  p.device = resolve_device(o, env);
  p.amp = amp_dtype(o.precision, p.device);
  p.dist = DistContext::create(env, p.device);
  const ClipConfig config = student_config(o);

  // Data.
  p.source = source ? std::move(source)
                    : std::make_unique<CachedTrainingSource>(o.cache, image, static_cast<int>(config.vision.image_size),
                                                             static_cast<int>(config.text.context_length),
                                                             o.batch_size, o.seed, p.dist.rank(), p.dist.world_size());
  const TrainingSource& data = *p.source;
  if (data.embed_dim() != config.embed_dim)
    throw Error("student output width differs from the teacher's embeddings").key("--output_dim")
        .expected(std::to_string(data.embed_dim())).got(std::to_string(config.embed_dim));
  if (!o.val_cache.empty()) {
    p.val = read_val_cache(o.val_cache);
    if (p.val->teacher_id != data.teacher_id())
      throw Error("val cache was made by another teacher than the training cache").file(o.val_cache.string())
          .key("teacher_id").expected(data.teacher_id()).got(p.val->teacher_id);
  }

  // Losses and what they read: the bank (--bank) and the cached top-K logits against it. icl's partner rows are
  // the teacher's top-1 bank rows (distill_loss.h, icl_loss), so icl needs both as well.
  const std::vector<LossSpec> specs = parse_loss_specs(o.loss, o.weight, o.loss_scale);
  p.loss.emplace(specs, o.t, data.logit_scale());
  p.inputs = loss_inputs(specs);
  const bool wants_bank = p.inputs & (kLossBank | kLossTeacherOther);
  const bool wants_topk = p.inputs & (kLossTopk | kLossTeacherOther);
  if (wants_bank && o.bank.empty())
    throw Error("affinity, affinity_topk and icl need the other modality's cache").key("--bank")
        .hint("extract with `kd-extract ... --bank OTHER_CACHE`, then train with --bank OTHER_CACHE");
  if (wants_topk && !data.has_topk())
    throw Error("affinity_topk and icl need cached top-K teacher logits, and the training cache has none")
        .file(o.cache.string()).key("--bank")
        .hint("extract with `kd-extract ... --bank OTHER_CACHE`, then train with --bank OTHER_CACHE");
  if (wants_bank) {
    p.bank = load_logit_bank(o.bank, image ? "text" : "image", data.teacher_id());
    if (wants_topk && p.bank->id != data.bank_id())
      throw Error("--bank is not the cache the logits were computed against").file(o.bank.string())
          .key("bank_id").expected(data.bank_id()).got(p.bank->id);
    p.bank->embeds = p.bank->embeds.to(p.device);
  }

  // Student and optimiser.
  p.student = ClipModel::create(config, o.seed);
  if (o.init_from_teacher) init_summary_ = inherit_from_teacher(p.student, load_clip(o.teacher).model, image).summary();
  p.student.to(p.device, at::kFloat);
  p.tower = image ? static_cast<torch::nn::Module*>(p.student.visual.get())
                  : static_cast<torch::nn::Module*>(p.student.text.get());
  p.tower->train();
  p.dist.broadcast_parameters(p.student.parameters());
  AdamWSettings adamw;
  adamw.lr = o.lr;
  adamw.weight_decay = o.weight_decay;
  steps_per_epoch_ = data.batches_per_epoch();
  total_steps_ = o.max_epochs * steps_per_epoch_;
  if (o.max_steps > 0) total_steps_ = std::min(total_steps_, o.max_steps);
  OptimizerStepOptions step_options;
  step_options.schedule = lr_config(o, total_steps_);
  step_options.steps_per_epoch = steps_per_epoch_;
  step_options.clip_grad_norm = o.clip_grad_norm;
  step_options.loss_scaling = p.amp == at::kHalf;
  p.optimizer.emplace(adamw_param_groups(*p.tower, adamw), step_options);
  p.named = p.student.named_tensors();

  // A new run, or the old one back.
  p.metrics.emplace(run_ / "metrics.jsonl", p.dist.is_main());
  const fs::path last = run_ / "checkpoints" / "last.ckpt";
  if (!o.resume.empty() && fs::exists(last)) {
    state_ = load_run_checkpoint(last, p.named, p.optimizer->optimizer(), p.generators);
    p.optimizer->scaler().load_state(state_.loss_scaler);
    // config.json with the changes --resume was allowed to make (run_folder.h).
    if (p.dist.is_main()) write_file_atomic(run_ / "config.json", train_options_to_json(o).dump(2) + "\n");
    p.metrics->resume(state_.step);
    resumed_ = true;
  } else if (p.dist.is_main()) {
    fs::create_directories(run_ / "checkpoints");
    write_file_atomic(run_ / "config.json", train_options_to_json(o).dump(2) + "\n");
    p.metrics->start();
    if (!image) copy_cache_tokenizer(o.cache, run_);  // RUN/tokenizer/, where kd-export finds it
  }
}

TrainSession::~TrainSession() {
  if (p_ && p_->next.valid()) p_->next.wait();
}

bool TrainSession::done() const { return state_.step >= total_steps_; }

StepReport TrainSession::step() {
  Parts& p = *p_;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t epoch = state_.epoch, index = state_.batch_in_epoch;
  auto prepare = [this](int64_t e, int64_t i) {
    p_->next = std::async(std::launch::async, [src = p_->source.get(), e, i] { return src->batch(e, i); });
    p_->next_epoch = e;
    p_->next_index = i;
  };
  if (!p.next.valid() || p.next_epoch != epoch || p.next_index != index) {
    if (p.next.valid()) p.next.wait();
    prepare(epoch, index);
  }
  const auto wait_start = std::chrono::steady_clock::now();
  TrainingBatch batch = p.next.get();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
  data_wait_s_ += waited;
  // The next position (the one place it is computed); its batch is prepared while this one trains.
  const bool epoch_end = index + 1 >= steps_per_epoch_;
  const int64_t next_epoch = epoch_end ? epoch + 1 : epoch, next_index = epoch_end ? 0 : index + 1;
  if (state_.step + 1 < total_steps_) prepare(next_epoch, next_index);

  const double lr = p.optimizer->set_lr(state_.step);
  at::Tensor embeds;
  {
    AutocastGuard autocast(p.device.type(), p.amp);
    const at::Tensor inputs = batch.inputs.to(p.device);
    embeds = is_image_student(o_) ? p.student.visual->forward(inputs).embeds : p.student.text->forward(inputs).embeds;
  }
  DistillBatch db;
  db.student = embeds.to(at::kFloat);
  db.teacher = batch.teacher.to(p.device);
  if (p.bank) db.bank = p.bank->embeds;
  if (batch.topk_values.defined() && (p.inputs & (kLossTopk | kLossTeacherOther))) {
    db.teacher_topk_logits = batch.topk_values.to(p.device);
    db.teacher_topk_indices = batch.topk_index.to(p.device);
  }
  if (p.inputs & kLossTeacherOther)  // icl's partner of row b: the bank row the teacher ranks first for b
    db.teacher_other = p.bank->embeds.index_select(0, db.teacher_topk_indices.select(1, 0));
  const DistillLossResult loss = (*p.loss)(db);
  const bool finite = p.optimizer->apply(loss.total, &p.dist);

  std::vector<at::Tensor> values = {loss.total.detach().to(at::kCPU, at::kDouble).reshape({1})};
  for (const auto& [name, term] : loss.terms) values.push_back(term.detach().to(at::kCPU, at::kDouble).reshape({1}));
  const at::Tensor mean = p.dist.allreduce_mean(at::cat(values).to(p.device)).to(at::kCPU);
  // fp32 / bf16 have no loss scaler to skip a step: a non-finite loss stops the run before anything is saved.
  if (!p.optimizer->scaler().enabled() && !std::isfinite(mean[0].item<double>()))
    throw Error("the training loss is not finite").key("step " + std::to_string(state_.step + 1))
        .expected("a finite loss").got(std::to_string(mean[0].item<double>()))
        .hint("check the cache's teacher embeddings and lower --lr; nothing of this step was saved");

  StepReport r;
  state_.step += 1;
  state_.epoch = next_epoch;
  state_.batch_in_epoch = next_index;
  state_.samples_seen += p.source->rows_per_batch();
  last_step_epoch_ = epoch;
  r.step = state_.step;
  r.epoch = epoch;
  r.batch_in_epoch = index + 1;
  r.epoch_end = epoch_end;
  r.loss = mean[0].item<double>();
  for (size_t i = 0; i < loss.terms.size(); ++i) r.terms.emplace_back(loss.terms[i].first, mean[i + 1].item<double>());
  r.lr = lr;
  r.skipped = !finite;
  if (index == 0) epoch_loss_sum_ = 0, epoch_loss_n_ = 0;
  epoch_loss_sum_ += r.loss;
  ++epoch_loss_n_;
  r.epoch_mean_loss = epoch_loss_sum_ / static_cast<double>(epoch_loss_n_);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json line = {{"step", r.step}, {"epoch", r.epoch}, {"loss", r.loss}, {"lr", lr},
                         {"samples_per_s", static_cast<double>(p.source->rows_per_batch()) / seconds},
                         {"data_wait_s", waited}};
  for (const auto& [name, value] : r.terms) line["loss_" + name] = value;
  if (p.optimizer->scaler().enabled()) line["loss_scale"] = p.optimizer->scaler().scale();
  if (r.skipped) line["skipped_step"] = true;
  p.metrics->write(line);
  return r;
}

std::optional<ValMetrics> TrainSession::validate() {
  Parts& p = *p_;
  if (!p.val) return std::nullopt;
  p.tower->eval();
  std::optional<ValMetrics> m;
  if (p.dist.is_main()) {
    m = validate_student(p.student, *p.val, p.device, std::max<int64_t>(o_.batch_size, 64));
    p.metrics->write({{"step", state_.step}, {"epoch", last_step_epoch_}, {"val", m->to_json()}});
  }
  p.dist.barrier();
  p.tower->train();
  return m;
}

void TrainSession::checkpoint(const ValMetrics* val) {
  Parts& p = *p_;
  if (!p.dist.is_main()) return;
  const LrScheduleConfig& schedule = p.optimizer->schedule();
  state_.loss_scaler = p.optimizer->scaler().state();
  state_.lr_schedule = {{"kind", enum_name(schedule.kind)}, {"base_lr", schedule.base_lr},
                        {"total_steps", schedule.total_steps}};
  state_.extra = val ? val->to_json() : nlohmann::json::object();
  const fs::path dir = run_ / "checkpoints", last = dir / "last.ckpt";
  save_run_checkpoint(last, p.named, p.optimizer->optimizer(), p.generators, state_);
  if (val && o_.save_top_k > 0) keep_best_k(dir, last, o_.save_top_k, "val_acc");
}

void TrainSession::finish(const std::string& title) {
  Parts& p = *p_;
  if (p.next.valid()) p.next.wait();
  if (p.dist.is_main()) {
    save_clip_openai_safetensors(p.student, run_ / "student.safetensors",
                                 {{"kd_teacher_id", p.source->teacher_id()},
                                  {"kd_train_steps", std::to_string(state_.step)}});
    write_training_curves(p.metrics->file(), run_ / "curves.svg", title);
  }
  p.dist.barrier();
}

int64_t TrainSession::resident_data_bytes() const { return p_->source->resident_bytes(); }

}  // namespace kd
