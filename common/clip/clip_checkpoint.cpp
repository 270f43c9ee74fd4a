// CLIP checkpoint I/O: format detection, HF <-> OpenAI key conversion, strict key/shape checks, writing both layouts.
#include "common/clip/clip_checkpoint.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <set>

#include "common/clip/checkpoint_keys.h"
#include "common/clip/safetensors.h"
#include "common/clip/tensor_io.h"
#include "common/clip/torch_pickle.h"
#include "common/clip/torchscript_import.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace {

using TensorMap = std::map<std::string, at::Tensor>;
using ShapeMap = std::map<std::string, std::vector<int64_t>>;

nlohmann::json parse_json_or_throw(const std::string& text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error("not valid JSON").file(where);
  return j;
}

ShapeMap shapes_of(const TensorMap& tensors) {
  ShapeMap out;
  for (const auto& [name, t] : tensors) out[name] = t.sizes().vec();
  return out;
}

// Every expected key present with its shape, nothing else (names in `ignorable` may be absent or present).
void check_keys(const ShapeMap& found, const std::vector<TensorSpec>& expected, const std::string& file,
                bool (*ignorable)(const std::string&)) {
  std::set<std::string> wanted;
  for (const TensorSpec& spec : expected) {
    wanted.insert(spec.name);
    auto it = found.find(spec.name);
    if (it == found.end()) {
      if (ignorable && ignorable(spec.name)) continue;
      throw Error("missing tensor").file(file).key(spec.name).expected(shape_to_string(spec.shape));
    }
    if (it->second != spec.shape)
      throw Error("tensor has the wrong shape").file(file).key(spec.name).expected(shape_to_string(spec.shape))
          .got(shape_to_string(it->second));
  }
  for (const auto& [name, shape] : found)
    if (!wanted.count(name))
      throw Error("unexpected tensor").file(file).key(name).got(shape_to_string(shape))
          .hint("the architecture inferred from the file has no such tensor");
}

TensorMap read_safetensors_all(const SafetensorsFile& file) {
  TensorMap out;
  for (const std::string& name : file.names()) out[name] = tensor_from_safetensors(file.at(name));
  return out;
}

// HF names -> OpenAI names, following the link table (q, k, v stacked; projections transposed).
TensorMap hf_to_openai(const TensorMap& hf, const ClipConfig& config) {
  TensorMap out;
  for (const KeyLink& link : openai_hf_links(config)) {
    switch (link.relation) {
      case HfRelation::kSame: out[link.openai] = hf.at(link.hf[0]); break;
      case HfRelation::kTransposed: out[link.openai] = hf.at(link.hf[0]).t().contiguous(); break;
      case HfRelation::kQkvSplit:
        out[link.openai] = at::cat({hf.at(link.hf[0]), hf.at(link.hf[1]), hf.at(link.hf[2])}, 0);
        break;
    }
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> openai_to_hf(const ClipModel& model) {
  TensorMap openai;
  for (const auto& [name, t] : model.named_tensors()) openai[name] = t.detach();
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const KeyLink& link : openai_hf_links(model.config)) {
    const at::Tensor& t = openai.at(link.openai);
    switch (link.relation) {
      case HfRelation::kSame: out.emplace_back(link.hf[0], t); break;
      case HfRelation::kTransposed: out.emplace_back(link.hf[0], t.t().contiguous()); break;
      case HfRelation::kQkvSplit: {
        auto parts = t.chunk(3, 0);
        for (int i = 0; i < 3; ++i) out.emplace_back(link.hf[i], parts[i].contiguous());
        break;
      }
    }
  }
  if (model.config.has_vision)
    out.emplace_back("vision_model.embeddings.position_ids",
                     at::arange(model.config.vision.n_patches() + 1, at::kLong).unsqueeze(0));
  if (model.config.has_text)
    out.emplace_back("text_model.embeddings.position_ids",
                     at::arange(model.config.text.context_length, at::kLong).unsqueeze(0));
  return out;
}

// Copies checked OpenAI-named tensors into a freshly created model.
ClipModel build_model(const ClipConfig& config, const TensorMap& openai, const std::string& file) {
  check_keys(shapes_of(openai), openai_tensor_specs(config), file, nullptr);
  ClipModel model = ClipModel::create(config, /*seed=*/0);
  at::NoGradGuard no_grad;
  for (auto& [name, param] : model.named_tensors()) {
    const at::Tensor& src = openai.at(name);
    if (!src.is_floating_point())
      throw Error("tensor is not floating point").file(file).key(name).got(std::string(src.dtype().name()));
    param.copy_(src.to(at::kFloat));
  }
  // A single-tower file has no logit_scale; keep CLIP's initial value.
  model.eval();
  return model;
}

// OpenAI files: a lone `logit_scale` without both towers is allowed and dropped (single-tower exports keep none).
TensorMap drop_extra_openai(TensorMap tensors, const ClipConfig& config) {
  if (!(config.has_vision && config.has_text)) tensors.erase("logit_scale");
  return tensors;
}

// Hugging Face weight file names, in the order transformers prefers them when a folder holds both.
constexpr const char* kHfWeightFiles[] = {"model.safetensors", "pytorch_model.bin"};

bool is_hf_weights_name(const std::filesystem::path& file) {
  for (const char* name : kHfWeightFiles)
    if (file.filename() == name) return true;
  return false;
}

// The weights file of a HF folder (model.safetensors, else pytorch_model.bin); empty when it holds neither.
std::filesystem::path hf_weights_in(const std::filesystem::path& dir) {
  for (const char* name : kHfWeightFiles)
    if (std::filesystem::exists(dir / name)) return dir / name;
  return {};
}

// The HF folder of a checkpoint path: the folder itself, or the folder holding the weights file.
std::filesystem::path hf_folder_of(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return path;
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// HF-named tensors in a file read as OpenAI layout: its config.json is missing (head counts are not in the file).
void refuse_hf_layout(const TensorMap& tensors, const std::string& file) {
  for (const auto& [name, t] : tensors)
    if (name.rfind("vision_model.", 0) == 0 || name.rfind("text_model.", 0) == 0)
      throw Error("Hugging Face-layout weights without their config.json").file(file).key(name)
          .expected("config.json beside " + std::filesystem::path(file).filename().string() +
                    " (model.safetensors or pytorch_model.bin), or an OpenAI-layout state dict");
}

}  // namespace

std::string to_string(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::kHfDirectory: return "hf";
    case CheckpointFormat::kOpenAiSafetensors: return "openai-safetensors";
    case CheckpointFormat::kOpenAiTorchScript: return "openai-torchscript";
  }
  return "?";
}

CheckpointFormat detect_checkpoint_format(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (!std::filesystem::exists(path / "config.json") || hf_weights_in(path).empty())
      throw Error("folder is not a Hugging Face CLIP checkpoint").file(path.string())
          .expected("config.json and model.safetensors or pytorch_model.bin inside");
    return CheckpointFormat::kHfDirectory;
  }
  if (!std::filesystem::exists(path, ec)) throw Error("checkpoint not found").file(path.string());
  if (is_hf_weights_name(path) && std::filesystem::exists(hf_folder_of(path) / "config.json"))
    return CheckpointFormat::kHfDirectory;
  const std::string ext = path.extension().string();
  if (ext == ".safetensors") return CheckpointFormat::kOpenAiSafetensors;
  if (ext == ".pt" || ext == ".pth" || ext == ".jit" || ext == ".bin") return CheckpointFormat::kOpenAiTorchScript;
  throw Error("unknown checkpoint format").file(path.string())
      .expected("a Hugging Face folder, an OpenAI-layout .safetensors, or an OpenAI .pt archive").got(ext);
}

std::filesystem::path checkpoint_weights_file(const std::filesystem::path& path) {
  const CheckpointFormat format = detect_checkpoint_format(path);
  std::error_code ec;
  return format == CheckpointFormat::kHfDirectory && std::filesystem::is_directory(path, ec) ? hf_weights_in(path)
                                                                                               : path;
}

LoadedClip load_clip(const std::filesystem::path& path) {
  const CheckpointFormat format = detect_checkpoint_format(path);
  const std::filesystem::path weights = checkpoint_weights_file(path);  // HF: model.safetensors or pytorch_model.bin
  const std::string file = weights.string();
  switch (format) {
    case CheckpointFormat::kHfDirectory: {
      const ClipConfig config = read_hf_clip_config(hf_folder_of(path) / "config.json");
      TensorMap hf = weights.extension() == ".safetensors" ? read_safetensors_all(SafetensorsFile::open(weights))
                                                            : read_torch_state_dict(weights);
      check_keys(shapes_of(hf), hf_tensor_specs(config), file, &is_hf_buffer_key);
      for (auto it = hf.begin(); it != hf.end();) it = is_hf_buffer_key(it->first) ? hf.erase(it) : std::next(it);
      return {build_model(config, hf_to_openai(hf, config), file), format, weights};
    }
    case CheckpointFormat::kOpenAiSafetensors: {
      SafetensorsFile st = SafetensorsFile::open(weights);
      TensorMap tensors = read_safetensors_all(st);
      refuse_hf_layout(tensors, file);
      // kd's own exports record the config (head counts cannot be inferred from shapes); others follow OpenAI.
      auto meta = st.metadata().find("kd_clip_config");
      const ClipConfig config =
          meta != st.metadata().end()
              ? clip_config_from_json(parse_json_or_throw(meta->second, file + " (metadata kd_clip_config)"), file)
              : clip_config_from_openai_shapes(shapes_of(tensors), file);
      return {build_model(config, drop_extra_openai(std::move(tensors), config), file), format, weights};
    }
    case CheckpointFormat::kOpenAiTorchScript: {
      TensorMap tensors = read_torchscript_state(weights);
      refuse_hf_layout(tensors, file);
      // OpenAI's build_model drops these scalar attributes when a state dict carries them.
      for (const char* k : {"input_resolution", "context_length", "vocab_size"}) tensors.erase(k);
      const ClipConfig config = clip_config_from_openai_shapes(shapes_of(tensors), file);
      return {build_model(config, drop_extra_openai(std::move(tensors), config), file), format, weights};
    }
  }
  throw Error("unreachable checkpoint format").file(file);
}

void save_clip_openai_safetensors(const ClipModel& model, const std::filesystem::path& file,
                                  std::map<std::string, std::string> metadata) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : model.named_tensors()) tensors.emplace_back(name, t.detach());
  metadata["format"] = "pt";
  metadata["kd_clip_config"] = clip_config_to_json(model.config).dump();
  write_safetensors_tensors(file, tensors, metadata);
}

void save_clip_hf(const ClipModel& model, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  write_safetensors_tensors(dir / "model.safetensors", openai_to_hf(model), {{"format", "pt"}});
  write_file_atomic(dir / "config.json", clip_config_to_hf_json(model.config).dump(2) + "\n");
}

}  // namespace kd
