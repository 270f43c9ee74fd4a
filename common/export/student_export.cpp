// Student export to Hugging Face folders and OpenAI-layout safetensors, with a reload check.
#include "common/export/student_export.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/student_path.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace fs = std::filesystem;
namespace {

ClipModel load_tower(const fs::path& given, bool vision) {
  LoadedClip loaded = load_student_tower(given, vision, "student", vision ? "--text" : "--image");
  const bool both = loaded.model.config.has_vision && loaded.model.config.has_text;
  return both ? single_tower(loaded.model, vision) : std::move(loaded.model);
}

// Copies every tensor of `from` whose name `to` has (names are OpenAI keys).
void copy_tensors(const ClipModel& from, ClipModel& to) {
  at::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> dst;
  for (auto& [name, t] : to.named_tensors()) dst[name] = t;
  for (const auto& [name, t] : from.named_tensors()) {
    auto it = dst.find(name);
    if (it != dst.end()) it->second.copy_(t.detach().to(at::kCPU, at::kFloat));
  }
}

// The exported file reloaded by load_clip must give back every tensor exactly.
void check_reload(const ClipModel& written, const fs::path& path) {
  const LoadedClip back = load_clip(path);
  std::map<std::string, at::Tensor> got;
  for (const auto& [name, t] : back.model.named_tensors()) got[name] = t;
  for (const auto& [name, t] : written.named_tensors()) {
    auto it = got.find(name);
    if (it == got.end()) throw Error("exported checkpoint lost a tensor").file(path.string()).key(name);
    if (!at::equal(it->second, t.detach().to(at::kCPU, at::kFloat)))
      throw Error("exported tensor reads back different").file(path.string()).key(name)
          .got("max |diff| " + std::to_string((it->second - t.detach().to(at::kFloat)).abs().max().item<double>()));
  }
}

fs::path tokenizer_source(const ExportOptions& o) {
  if (!o.tokenizer.empty()) return o.tokenizer;
  std::error_code ec;
  if (fs::is_directory(o.text_student, ec) && fs::is_regular_file(o.text_student / "vocab.json", ec) &&
      fs::is_regular_file(o.text_student / "merges.txt", ec))
    return o.text_student;
  throw Error("a Hugging Face text export needs the tokenizer files").key("--tokenizer")
      .hint("pass --tokenizer bpe_simple_vocab_16e6.txt.gz (OpenAI's) or a folder with vocab.json and merges.txt");
}

}  // namespace

ExportLayout parse_export_layout(const std::string& name) {
  if (name == "hf") return ExportLayout::kHf;
  if (name == "openai") return ExportLayout::kOpenAi;
  throw Error("unknown export layout").key("--layout").expected("hf or openai").got(name);
}

std::string to_string(ExportLayout layout) { return layout == ExportLayout::kHf ? "hf" : "openai"; }

ClipModel single_tower(const ClipModel& model, bool vision) {
  if (vision ? !model.config.has_vision : !model.config.has_text)
    throw Error(std::string("model has no ") + (vision ? "vision" : "text") + " tower");
  ClipConfig c = model.config;
  c.has_vision = vision;
  c.has_text = !vision;
  ClipModel out = ClipModel::create(c, /*seed=*/0);
  copy_tensors(model, out);
  out.eval();
  return out;
}

ClipModel combine_towers(const ClipModel& image, const ClipModel& text, double logit_multiplier) {
  if (!image.config.has_vision) throw Error("image student has no vision tower");
  if (!text.config.has_text) throw Error("text student has no text tower");
  if (image.config.embed_dim != text.config.embed_dim)
    throw Error("the two students embed into different widths").key("embed_dim")
        .expected(std::to_string(image.config.embed_dim) + " (image student)")
        .got(std::to_string(text.config.embed_dim) + " (text student)");
  if (image.config.layer_norm_eps != text.config.layer_norm_eps)
    throw Error("the two students use different LayerNorm eps; one CLIP config holds one").key("layer_norm_eps");
  if (!(logit_multiplier > 0) || !std::isfinite(logit_multiplier))
    throw Error("logit scale must be a positive multiplier").key("--logit-scale").got(std::to_string(logit_multiplier));
  ClipConfig c = image.config;
  c.has_text = true;
  c.text = text.config.text;
  c.name = "kd-student";
  ClipModel out = ClipModel::create(c, /*seed=*/0);
  copy_tensors(image, out);
  copy_tensors(text, out);
  {
    at::NoGradGuard no_grad;
    out.logit_scale.fill_(std::log(logit_multiplier));
  }
  out.eval();
  return out;
}

nlohmann::json hf_preprocessor_config(const ClipConfig& c) {
  const int64_t r = c.vision.image_size;
  return {{"image_processor_type", "CLIPImageProcessor"},
          {"do_convert_rgb", true},
          {"do_resize", true},
          {"size", {{"shortest_edge", r}}},
          {"resample", 3},  // PIL.Image.BICUBIC
          {"do_center_crop", true},
          {"crop_size", {{"height", r}, {"width", r}}},
          {"do_rescale", true},
          {"rescale_factor", 1.0 / 255.0},
          {"do_normalize", true},
          {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
          {"image_std", {0.26862954, 0.26130258, 0.27577711}}};
}

std::vector<fs::path> write_hf_tokenizer_files(const BpeTokenizer& tokenizer, const fs::path& dir,
                                               int64_t context_length) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& tokens = tokenizer.vocab();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
  std::string merges = "#version: 0.2\n";
  for (const std::string& m : tokenizer.merges()) merges += m + "\n";
  const char* eot = "<|endoftext|>";
  const nlohmann::json special{
      {"bos_token", "<|startoftext|>"}, {"eos_token", eot}, {"unk_token", eot}, {"pad_token", eot}};
  nlohmann::json config = special;
  config["tokenizer_class"] = "CLIPTokenizer";
  config["model_max_length"] = context_length;
  config["do_lower_case"] = true;
  config["errors"] = "replace";
  config["add_prefix_space"] = false;
  const std::vector<std::pair<std::string, std::string>> files{{"vocab.json", vocab.dump() + "\n"},
                                                               {"merges.txt", merges},
                                                               {"tokenizer_config.json", config.dump(2) + "\n"},
                                                               {"special_tokens_map.json", special.dump(2) + "\n"}};
  std::vector<fs::path> out;
  for (const auto& [name, bytes] : files) {
    write_file_atomic(dir / name, bytes);
    out.push_back(dir / name);
  }
  return out;
}

ExportResult export_students(const ExportOptions& o) {
  if (o.image_student.empty() && o.text_student.empty())
    throw Error("nothing to export").hint("pass --image and/or --text");
  if (o.out.empty()) throw Error("no output path").key("--out");
  std::error_code ec;
  if (fs::exists(o.out, ec))
    throw Error("output already exists; kd-export does not overwrite").file(o.out.string())
        .hint("remove it or choose another --out");
  if (o.layout == ExportLayout::kOpenAi && o.out.extension() != ".safetensors")
    throw Error("an OpenAI-layout export is one .safetensors file").file(o.out.string()).key("--out")
        .expected("a path ending in .safetensors");

  ClipModel model;
  if (!o.image_student.empty() && !o.text_student.empty()) {
    const double multiplier = o.teacher.empty() ? o.logit_scale : load_clip(o.teacher).model.logit_multiplier();
    model = combine_towers(load_tower(o.image_student, true), load_tower(o.text_student, false), multiplier);
  }
  else if (!o.image_student.empty())
    model = load_tower(o.image_student, true);
  else
    model = load_tower(o.text_student, false);
  model.to(torch::kCPU, torch::kFloat);

  ExportResult result;
  result.config = model.config;
  if (o.layout == ExportLayout::kOpenAi) {
    if (!o.out.parent_path().empty()) fs::create_directories(o.out.parent_path());
    save_clip_openai_safetensors(model, o.out, {{"kd_export", "kd-export"}});
    check_reload(model, o.out);
    result.files.push_back(o.out);
    return result;
  }
  // HF: build the folder beside its final name, check it, then rename it into place (a folder that exists is complete).
  const fs::path tmp = o.out.string() + ".tmp";
  fs::remove_all(tmp, ec);
  std::vector<std::string> names{"config.json", "model.safetensors"};
  try {
    fs::create_directories(tmp);
    save_clip_hf(model, tmp);
    if (model.config.has_vision) {
      write_file_atomic(tmp / "preprocessor_config.json", hf_preprocessor_config(model.config).dump(2) + "\n");
      names.push_back("preprocessor_config.json");
    }
    if (model.config.has_text) {
      const BpeTokenizer tokenizer = BpeTokenizer::load(tokenizer_source(o));
      if (static_cast<int64_t>(tokenizer.vocab().size()) != model.config.text.vocab_size)
        throw Error("tokenizer vocabulary does not match the text tower").file(tokenizer_source(o).string())
            .expected(std::to_string(model.config.text.vocab_size)).got(std::to_string(tokenizer.vocab().size()));
      for (const fs::path& f : write_hf_tokenizer_files(tokenizer, tmp, model.config.text.context_length))
        names.push_back(f.filename().string());
    }
    check_reload(model, tmp);
    fs::rename(tmp, o.out);
  } catch (...) {  // e.g. disk full: no half-written OUT.tmp/ is left behind
    fs::remove_all(tmp, ec);
    throw;
  }
  for (const std::string& n : names) result.files.push_back(o.out / n);
  return result;
}

}  // namespace kd
