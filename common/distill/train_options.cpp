// TrainOptions: run name and cache paths from the data folder, validation, JSON through the one description.
#include "common/distill/train_options.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "common/distill/distill_loss.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"
#include "common/util/option_json.h"

namespace kd {

bool is_image_student(const TrainOptions& o) { return o.dataset == Dataset::kImage; }

ClipConfig student_config(const TrainOptions& o) {
  ClipConfig c;
  c.embed_dim = o.output_dim;
  c.name = o.model_name;
  if (is_image_student(o)) {
    c.has_text = false;
    c.vision = {o.width, o.layers, o.heads, 4 * o.width, o.patch_size, o.input_resolution};
  } else {
    c.has_vision = false;
    c.text = {o.transformer_width, o.transformer_layers, o.transformer_heads, 4 * o.transformer_width,
              o.context_length, o.vocab_size};
  }
  validate_clip_config(c, "student options");
  return c;
}

namespace {

// Out-of-range values are usage errors (exit 2), as a bad flag is.
void require_positive(int64_t v, const char* key) {
  if (v <= 0) throw UsageError(Error("must be positive").key(key).got(std::to_string(v)));
}
void require_not_negative(int64_t v, const char* key) {
  if (v < 0) throw UsageError(Error("must not be negative").key(key).got(std::to_string(v)));
}
void require_positive(double v, const char* key) {
  if (!(v > 0) || !std::isfinite(v))
    throw UsageError(Error("must be a positive number").key(key).got(std::to_string(v)));
}
void require_not_negative(double v, const char* key) {
  if (!(v >= 0) || !std::isfinite(v))
    throw UsageError(Error("must be a number >= 0").key(key).got(std::to_string(v)));
}

}  // namespace

void validate_train_options(const TrainOptions& o) {
  require_positive(o.batch_size, "--batch_size");
  require_positive(o.max_epochs, "--max_epochs");
  require_positive(o.lr, "--lr");
  require_positive(o.t, "--t");
  require_not_negative(o.weight_decay, "--weight_decay");
  require_not_negative(o.lr_decay_min_lr, "--lr_decay_min_lr");
  require_not_negative(int64_t(o.num_workers), "--num_workers");
  require_not_negative(int64_t(o.threads), "--threads");
  require_not_negative(o.max_steps, "--max_steps");
  require_not_negative(o.warmup_steps, "--warmup_steps");
  require_not_negative(o.val_every_steps, "--val-every-steps");
  require_not_negative(o.checkpoint_every_steps, "--checkpoint-every-steps");
  require_not_negative(int64_t(o.save_top_k), "--save-top-k");
  require_not_negative(o.clip_grad_norm, "--clip-grad-norm");
  try {
    parse_loss_specs(o.loss, o.weight, o.loss_scale);  // names, lengths, weights >= 0 (naming --weight)
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e);
  }
  if (o.init_from_teacher && o.teacher.empty())
    throw UsageError(Error("--init-from-teacher needs --teacher").key("--teacher"));
}

TrainOptions resolve_train_options(TrainOptions o) {
  if (o.model_name.empty()) o.model_name = is_image_student(o) ? "model_image_distilled" : "model_text_distilled";
  validate_train_options(o);
  student_config(o);  // validates the architecture
  if (!o.data_dir.empty()) {
    if (o.cache.empty()) o.cache = o.data_dir / "cache" / (is_image_student(o) ? "image" : "text");
    if (o.val_cache.empty() && std::filesystem::exists(o.data_dir / "cache" / "val" / "index.json"))
      o.val_cache = o.data_dir / "cache" / "val";
  }
  if (o.cache.empty())
    throw UsageError(
        Error("no training cache").key("--cache").hint("pass --data_dir DATA, --cache DIR or --resume RUN"));
  if (!std::filesystem::exists(o.cache / "index.json"))
    throw Error("training cache not found (run kd-extract first)").file((o.cache / "index.json").string());
  return o;
}

nlohmann::json train_options_to_json(const TrainOptions& o) {
  nlohmann::json j = {{"kd_format", "kd-train-config"}, {"kd_version", 1}};
  options_to_json(o, j);
  return j;
}

TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || j.value("kd_format", std::string()) != "kd-train-config")
    throw Error("not a kd-train config").file(where).key("kd_format").expected("kd-train-config");
  if (j.value("kd_version", 0) != 1)
    throw Error("unsupported kd-train config version").file(where).key("kd_version").expected("1");
  TrainOptions o;
  // "device": written by earlier versions, never used.
  options_from_json(j, o, where, {"kd_format", "kd_version", "device"});
  return o;
}

}  // namespace kd
