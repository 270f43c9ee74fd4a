// TrainOptions: seed defaults, cache paths from the data folder, validation, JSON.
#include "common/distill/train_options.h"

#include <nlohmann/json.hpp>

#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      // The seed's `type=list` turned "[0, 1]" into characters; accept brackets and spaces around items.
      std::string clean;
      for (char c : part)
        if (c != '[' && c != ']' && c != ' ' && c != '\'' && c != '"') clean += c;
      if (!clean.empty()) out.push_back(clean);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool is_image_student(const TrainOptions& o) { return o.dataset == "image_dataset"; }

ClipConfig student_config(const TrainOptions& o) {
  ClipConfig c;
  c.embed_dim = o.output_dim;
  if (is_image_student(o)) {
    c.name = o.model_name;
    c.has_text = false;
    c.vision = {o.width, o.layers, o.heads, 4 * o.width, o.patch_size, o.input_resolution};
  } else {
    c.name = o.model_name;
    c.has_vision = false;
    c.text = {o.transformer_width, o.transformer_layers, o.transformer_heads, 4 * o.transformer_width,
              o.context_length, o.vocab_size};
  }
  validate_clip_config(c, "student options");
  return c;
}

TrainOptions resolve_train_options(TrainOptions o) {
  if (o.dataset != "image_dataset" && o.dataset != "text_dataset")
    throw Error("unknown dataset").key("--dataset").expected("image_dataset or text_dataset").got(o.dataset);
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
  if (o.precision == "16-mixed") o.precision = "16";
  if (o.precision == "bf16-mixed") o.precision = "bf16";
  if (o.precision != "32" && o.precision != "16" && o.precision != "bf16")
    throw Error("unknown precision").key("--precision").expected("32, 16 or bf16").got(o.precision);
  if (o.strategy != "auto" && o.strategy != "ddp" && o.strategy != "none")
    throw Error("unknown strategy").key("--strategy").expected("auto, ddp").got(o.strategy);
  if (o.lr_scheduler != "step" && o.lr_scheduler != "cosine")
    throw Error("unknown scheduler").key("--lr_scheduler").expected("step or cosine").got(o.lr_scheduler);
  if (o.batch_size <= 0) throw Error("must be positive").key("--batch_size").got(std::to_string(o.batch_size));
  if (o.max_epochs <= 0) throw Error("must be positive").key("--max_epochs").got(std::to_string(o.max_epochs));
  if (!(o.lr > 0)) throw Error("must be positive").key("--lr").got(std::to_string(o.lr));
  if (!(o.t > 0)) throw Error("must be positive").key("--t").got(std::to_string(o.t));
  if (o.init_from_teacher && o.teacher.empty())
    throw Error("--init-from-teacher needs --teacher").key("--teacher");
  student_config(o);  // validates the architecture
  return o;
}

nlohmann::json train_options_to_json(const TrainOptions& o) {
  return {{"kd_format", "kd-train-config"}, {"kd_version", 1},
          {"data_dir", o.data_dir.string()}, {"dataset", o.dataset}, {"model_name", o.model_name},
          {"save_dir", o.save_dir.string()}, {"batch_size", o.batch_size}, {"num_workers", o.num_workers},
          {"seed", o.seed}, {"lr", o.lr}, {"weight_decay", o.weight_decay}, {"lr_scheduler", o.lr_scheduler},
          {"lr_decay_steps", o.lr_decay_steps}, {"lr_decay_rate", o.lr_decay_rate},
          {"lr_decay_min_lr", o.lr_decay_min_lr}, {"input_resolution", o.input_resolution},
          {"patch_size", o.patch_size}, {"width", o.width}, {"layers", o.layers}, {"heads", o.heads},
          {"context_length", o.context_length}, {"vocab_size", o.vocab_size},
          {"transformer_width", o.transformer_width}, {"transformer_layers", o.transformer_layers},
          {"transformer_heads", o.transformer_heads}, {"output_dim", o.output_dim}, {"aug_prob", o.aug_prob},
          {"t", o.t}, {"weight", o.weight}, {"loss_scale", o.loss_scale}, {"loss", o.loss}, {"gpus", o.gpus},
          {"strategy", o.strategy}, {"precision", o.precision}, {"max_epochs", o.max_epochs},
          {"cache", o.cache.string()}, {"val_cache", o.val_cache.string()}, {"bank", o.bank.string()},
          {"teacher", o.teacher.string()}, {"init_from_teacher", o.init_from_teacher},
          {"warmup_steps", o.warmup_steps}, {"clip_grad_norm", o.clip_grad_norm},
          {"val_every_steps", o.val_every_steps}, {"checkpoint_every_steps", o.checkpoint_every_steps},
          {"save_top_k", o.save_top_k}, {"max_steps", o.max_steps}, {"threads", o.threads},
          {"device", o.device}};
}

TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || j.value("kd_format", std::string()) != "kd-train-config")
    throw Error("not a kd-train config").file(where).key("kd_format").expected("kd-train-config");
  if (j.value("kd_version", 0) != 1)
    throw Error("unsupported kd-train config version").file(where).key("kd_version").expected("1");
  TrainOptions o;
  try {
    o.data_dir = j.at("data_dir").get<std::string>();
    o.dataset = j.at("dataset");
    o.model_name = j.at("model_name");
    o.save_dir = j.at("save_dir").get<std::string>();
    o.batch_size = j.at("batch_size");
    o.num_workers = j.at("num_workers");
    o.seed = j.at("seed");
    o.lr = j.at("lr");
    o.weight_decay = j.at("weight_decay");
    o.lr_scheduler = j.at("lr_scheduler");
    o.lr_decay_steps = j.at("lr_decay_steps");
    o.lr_decay_rate = j.at("lr_decay_rate");
    o.lr_decay_min_lr = j.at("lr_decay_min_lr");
    o.input_resolution = j.at("input_resolution");
    o.patch_size = j.at("patch_size");
    o.width = j.at("width");
    o.layers = j.at("layers");
    o.heads = j.at("heads");
    o.context_length = j.at("context_length");
    o.vocab_size = j.at("vocab_size");
    o.transformer_width = j.at("transformer_width");
    o.transformer_layers = j.at("transformer_layers");
    o.transformer_heads = j.at("transformer_heads");
    o.output_dim = j.at("output_dim");
    o.aug_prob = j.at("aug_prob");
    o.t = j.at("t");
    o.weight = j.at("weight").get<std::vector<double>>();
    o.loss_scale = j.at("loss_scale").get<std::vector<double>>();
    o.loss = j.at("loss").get<std::vector<std::string>>();
    o.gpus = j.at("gpus").get<std::vector<std::string>>();
    o.strategy = j.at("strategy");
    o.precision = j.at("precision");
    o.max_epochs = j.at("max_epochs");
    o.cache = j.at("cache").get<std::string>();
    o.val_cache = j.at("val_cache").get<std::string>();
    o.bank = j.at("bank").get<std::string>();
    o.teacher = j.at("teacher").get<std::string>();
    o.init_from_teacher = j.at("init_from_teacher");
    o.warmup_steps = j.at("warmup_steps");
    o.clip_grad_norm = j.at("clip_grad_norm");
    o.val_every_steps = j.at("val_every_steps");
    o.checkpoint_every_steps = j.at("checkpoint_every_steps");
    o.save_top_k = j.at("save_top_k");
    o.max_steps = j.at("max_steps");
    o.threads = j.at("threads");
    o.device = j.at("device");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("bad kd-train config: ") + e.what()).file(where);
  }
  return o;
}

}  // namespace kd
