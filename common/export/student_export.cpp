// Student export to Hugging Face folders, OpenAI-layout safetensors and TorchScript, with a reload check.
#include "common/export/student_export.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/student_path.h"
#include "common/export/torchscript_export.h"
#include "common/extract/teacher_encoder.h"
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
  const fs::path recorded = find_recorded_tokenizer(o.text_student);
  if (!recorded.empty()) return recorded;
  if (!o.teacher.empty()) return find_vocab_for_teacher(o.teacher, {});  // throws naming where it looked
  throw Error("no tokenizer recorded for the text student").file(o.text_student.string())
      .expected("RUN/tokenizer/ (kd-train copies its cache's), the cache's tokenizer/, or a HF student folder with "
                "vocab.json and merges.txt")
      .hint("pass --tokenizer (a BPE .txt.gz or a folder with vocab.json + merges.txt) or --teacher");
}

BpeTokenizer load_text_tokenizer(const ExportOptions& o, const ClipConfig& config) {
  const fs::path source = tokenizer_source(o);
  BpeTokenizer tokenizer = BpeTokenizer::load(source);
  if (static_cast<int64_t>(tokenizer.vocab().size()) != config.text.vocab_size)
    throw Error("tokenizer vocabulary does not match the text tower").file(source.string())
        .expected(std::to_string(config.text.vocab_size)).got(std::to_string(tokenizer.vocab().size()));
  return tokenizer;
}

// kd's resize mode ("exact" or "fast") of the image cache an image run trained on, from RUN/config.json ("cache")
// and that cache's index.json (options.content.resize); "exact" (kd's default) when the run does not say.
std::string recorded_resize_mode(const fs::path& image_student) {
  std::error_code ec;
  const fs::path run = fs::is_regular_file(image_student, ec) ? image_student.parent_path() : image_student;
  auto read_json = [&](const fs::path& f) {
    return fs::is_regular_file(f, ec) ? nlohmann::json::parse(read_file(f), nullptr, false) : nlohmann::json();
  };
  const nlohmann::json config = read_json(run / "config.json");
  if (!config.is_object() || !config.contains("cache") || !config["cache"].is_string()) return "exact";
  const nlohmann::json index = read_json(fs::path(config["cache"].get<std::string>()) / "index.json");
  const nlohmann::json* resize = nullptr;
  if (index.is_object() && index.contains("options") && index["options"].contains("content"))
    resize = &index["options"]["content"];
  return resize && resize->contains("resize") && (*resize)["resize"].is_string() ? (*resize)["resize"].get<std::string>()
                                                                                : "exact";
}

// OUT/kd-torchscript.json: what the folder holds and how to feed each archive.
nlohmann::json torchscript_manifest(const ClipModel& model, const nlohmann::json& towers) {
  nlohmann::json j = {{"kd_format", "kd-torchscript-export"}, {"kd_version", 1}, {"produced_by", "kd-export"},
                      {"embed_dim", model.config.embed_dim}, {"towers", towers}};
  if (model.config.has_vision && model.config.has_text) j["logit_scale"] = model.logit_multiplier();
  return j;
}

}  // namespace

ExportLayout parse_export_layout(const std::string& name) {
  if (name == "hf") return ExportLayout::kHf;
  if (name == "openai") return ExportLayout::kOpenAi;
  if (name == "torchscript") return ExportLayout::kTorchScript;
  throw Error("unknown export layout").key("--layout").expected("hf, openai or torchscript").got(name);
}

std::string to_string(ExportLayout layout) {
  switch (layout) {
    case ExportLayout::kHf: return "hf";
    case ExportLayout::kOpenAi: return "openai";
    case ExportLayout::kTorchScript: return "torchscript";
  }
  return "?";
}

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
  const nlohmann::json record = image_preprocess_record(c, "exact");  // CLIP mean/std (common/image)
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
          {"image_mean", record.at("mean")},
          {"image_std", record.at("std")}};
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
  // HF and TorchScript: build the folder beside its final name, check it, then rename it into place (a folder that exists is complete).
  const fs::path tmp = o.out.string() + ".tmp";
  fs::remove_all(tmp, ec);
  std::vector<std::string> names;
  try {
    fs::create_directories(tmp);
    if (o.layout == ExportLayout::kTorchScript) {
      nlohmann::json towers = nlohmann::json::object();
      auto add = [&](bool vision, const nlohmann::json& preprocess) {
        const std::string stem = vision ? "image_encoder" : "text_encoder";
        write_torchscript_tower(model, vision, preprocess, tmp / stem);
        names.insert(names.end(), {stem + ".pt", stem + ".ptl"});
        towers[vision ? "image" : "text"] = {{"torchscript", stem + ".pt"}, {"mobile", stem + ".ptl"},
                                             {"preprocess", preprocess}};
      };
      if (model.config.has_vision)
        add(true, image_preprocess_record(model.config, recorded_resize_mode(o.image_student)));
      if (model.config.has_text) {
        add(false, text_preprocess_record(model.config));
        for (const fs::path& f : write_hf_tokenizer_files(load_text_tokenizer(o, model.config), tmp,
                                                          model.config.text.context_length))
          names.push_back(f.filename().string());
        towers["text"]["tokenizer"] = {"vocab.json", "merges.txt"};
      }
      write_file_atomic(tmp / "kd-torchscript.json", torchscript_manifest(model, towers).dump(2) + "\n");
      names.push_back("kd-torchscript.json");
    } else {
      save_clip_hf(model, tmp);
      names = {"config.json", "model.safetensors"};
      if (model.config.has_vision) {
        write_file_atomic(tmp / "preprocessor_config.json", hf_preprocessor_config(model.config).dump(2) + "\n");
        names.push_back("preprocessor_config.json");
      }
      if (model.config.has_text) {
        for (const fs::path& f : write_hf_tokenizer_files(load_text_tokenizer(o, model.config), tmp,
                                                          model.config.text.context_length))
          names.push_back(f.filename().string());
      }
      check_reload(model, tmp);
    }
    fs::rename(tmp, o.out);
  } catch (...) {  // e.g. disk full: no half-written OUT.tmp/ is left behind
    fs::remove_all(tmp, ec);
    throw;
  }
  for (const std::string& n : names) result.files.push_back(o.out / n);
  return result;
}

}  // namespace kd
