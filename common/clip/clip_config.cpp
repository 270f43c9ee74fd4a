// ClipConfig: presets, validation, and conversion from/to HF config.json, OpenAI shapes and kd JSON.
#include "common/clip/clip_config.h"

#include <nlohmann/json.hpp>

#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;

const std::vector<int64_t>& shape_of(const Shapes& shapes, const std::string& key, const std::string& where) {
  auto it = shapes.find(key);
  if (it == shapes.end()) throw Error("missing tensor needed to infer the architecture").file(where).key(key);
  return it->second;
}

// Counts N such that "<prefix>N.<suffix>" exists.
int64_t count_layers(const Shapes& shapes, const std::string& prefix) {
  int64_t n = 0;
  while (shapes.count(prefix + std::to_string(n) + ".ln_1.weight")) ++n;
  return n;
}

int64_t get_int(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number_integer()) throw Error("config field is not an integer").file(where).key(key).got(j[key].dump());
  return j[key].get<int64_t>();
}

void check_positive(int64_t v, const char* key, const std::string& where) {
  if (v <= 0) throw Error("config field must be positive").file(where).key(key).got(std::to_string(v));
}

}  // namespace

ClipConfig vit_b_32_config() {
  ClipConfig c;
  c.name = "ViT-B/32";
  return c;
}

ClipConfig seed_image_student_config() {
  ClipConfig c;
  c.name = "seed-image";
  c.has_text = false;
  c.vision = {576, 6, 24, 4 * 576, 32, 224};
  c.embed_dim = 512;
  return c;
}

ClipConfig seed_text_student_config() {
  ClipConfig c;
  c.name = "seed-text";
  c.has_vision = false;
  c.text = {128, 6, 8, 4 * 128, 77, 49408};
  c.embed_dim = 512;
  return c;
}

void validate_clip_config(const ClipConfig& c, const std::string& where) {
  if (!c.has_vision && !c.has_text) throw Error("config has neither a vision nor a text tower").file(where);
  check_positive(c.embed_dim, "embed_dim", where);
  if (c.has_vision) {
    const VisionConfig& v = c.vision;
    check_positive(v.width, "vision.width", where);
    check_positive(v.n_layers, "vision.n_layers", where);
    check_positive(v.n_heads, "vision.n_heads", where);
    check_positive(v.mlp_width, "vision.mlp_width", where);
    check_positive(v.patch_size, "vision.patch_size", where);
    check_positive(v.image_size, "vision.image_size", where);
    if (v.width % v.n_heads != 0)
      throw Error("vision width is not divisible by the number of heads").file(where).key("vision.n_heads")
          .expected("a divisor of " + std::to_string(v.width)).got(std::to_string(v.n_heads));
    if (v.image_size % v.patch_size != 0)
      throw Error("image size is not a multiple of the patch size").file(where).key("vision.image_size")
          .expected("a multiple of " + std::to_string(v.patch_size)).got(std::to_string(v.image_size));
  }
  if (c.has_text) {
    const TextConfig& t = c.text;
    check_positive(t.width, "text.width", where);
    check_positive(t.n_layers, "text.n_layers", where);
    check_positive(t.n_heads, "text.n_heads", where);
    check_positive(t.mlp_width, "text.mlp_width", where);
    check_positive(t.context_length, "text.context_length", where);
    check_positive(t.vocab_size, "text.vocab_size", where);
    if (t.width % t.n_heads != 0)
      throw Error("text width is not divisible by the number of heads").file(where).key("text.n_heads")
          .expected("a divisor of " + std::to_string(t.width)).got(std::to_string(t.n_heads));
    if (t.vocab_size <= 49407)
      throw Error("vocabulary too small for CLIP's end-of-text token 49407").file(where).key("text.vocab_size")
          .got(std::to_string(t.vocab_size));
  }
}

ClipConfig clip_config_from_hf_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error("config is not a JSON object").file(where);
  ClipConfig c;
  c.name = j.value("_name_or_path", std::string());
  const bool full = j.contains("vision_config") || j.contains("text_config");
  // A CLIPVisionConfig / CLIPTextConfig saved alone carries its fields at the top level.
  const std::string model_type = j.value("model_type", std::string());
  const bool vision_only = !full && model_type == "clip_vision_model";
  const bool text_only = !full && model_type == "clip_text_model";
  if (!full && !vision_only && !text_only)
    throw Error("not a CLIP config: no vision_config/text_config and model_type is not clip_vision_model or "
                "clip_text_model").file(where).got("model_type '" + model_type + "'");
  c.has_vision = full ? j.contains("vision_config") : vision_only;
  c.has_text = full ? j.contains("text_config") : text_only;
  c.embed_dim = get_int(j, "projection_dim", 512, where);
  auto read_act = [&](const nlohmann::json& s, const std::string& w) {
    std::string act = s.value("hidden_act", std::string("quick_gelu"));
    if (act != "quick_gelu")
      throw Error("unsupported activation").file(w).key("hidden_act").expected("quick_gelu").got(act);
    if (s.contains("layer_norm_eps")) c.layer_norm_eps = s["layer_norm_eps"].get<double>();
  };
  if (c.has_vision) {
    const nlohmann::json& v = full ? j["vision_config"] : j;
    const std::string w = where + (full ? ": vision_config" : "");
    VisionConfig& vc = c.vision;
    vc.width = get_int(v, "hidden_size", 768, w);
    vc.n_layers = get_int(v, "num_hidden_layers", 12, w);
    vc.n_heads = get_int(v, "num_attention_heads", 12, w);
    vc.mlp_width = get_int(v, "intermediate_size", 3072, w);
    vc.patch_size = get_int(v, "patch_size", 32, w);
    vc.image_size = get_int(v, "image_size", 224, w);
    if (get_int(v, "num_channels", 3, w) != 3)
      throw Error("only 3-channel images are supported").file(w).key("num_channels").got(v["num_channels"].dump());
    if (!full) c.embed_dim = get_int(v, "projection_dim", c.embed_dim, w);
    read_act(v, w);
  }
  if (c.has_text) {
    const nlohmann::json& t = full ? j["text_config"] : j;
    const std::string w = where + (full ? ": text_config" : "");
    TextConfig& tc = c.text;
    tc.width = get_int(t, "hidden_size", 512, w);
    tc.n_layers = get_int(t, "num_hidden_layers", 12, w);
    tc.n_heads = get_int(t, "num_attention_heads", 8, w);
    tc.mlp_width = get_int(t, "intermediate_size", 2048, w);
    tc.context_length = get_int(t, "max_position_embeddings", 77, w);
    tc.vocab_size = get_int(t, "vocab_size", 49408, w);
    if (!full) c.embed_dim = get_int(t, "projection_dim", c.embed_dim, w);
    read_act(t, w);
  }
  validate_clip_config(c, where);
  return c;
}

ClipConfig read_hf_clip_config(const std::filesystem::path& config_json) {
  const std::string text = read_file(config_json);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error("config is not valid JSON").file(config_json.string());
  return clip_config_from_hf_json(j, config_json.string());
}

nlohmann::json clip_config_to_hf_json(const ClipConfig& c) {
  auto vision = [&] {
    return nlohmann::json{{"hidden_size", c.vision.width}, {"intermediate_size", c.vision.mlp_width},
                          {"num_attention_heads", c.vision.n_heads}, {"num_hidden_layers", c.vision.n_layers},
                          {"image_size", c.vision.image_size}, {"patch_size", c.vision.patch_size},
                          {"num_channels", 3}, {"hidden_act", "quick_gelu"},
                          {"layer_norm_eps", c.layer_norm_eps}, {"projection_dim", c.embed_dim},
                          {"model_type", "clip_vision_model"}, {"attention_dropout", 0.0},
                          {"initializer_range", 0.02}, {"initializer_factor", 1.0}};
  };
  auto text = [&] {
    return nlohmann::json{{"hidden_size", c.text.width}, {"intermediate_size", c.text.mlp_width},
                          {"num_attention_heads", c.text.n_heads}, {"num_hidden_layers", c.text.n_layers},
                          {"max_position_embeddings", c.text.context_length}, {"vocab_size", c.text.vocab_size},
                          {"hidden_act", "quick_gelu"}, {"layer_norm_eps", c.layer_norm_eps},
                          {"projection_dim", c.embed_dim}, {"bos_token_id", 49406}, {"eos_token_id", 49407},
                          {"pad_token_id", 1}, {"model_type", "clip_text_model"}, {"attention_dropout", 0.0},
                          {"initializer_range", 0.02}, {"initializer_factor", 1.0}};
  };
  if (c.has_vision && c.has_text) {
    return nlohmann::json{{"architectures", {"CLIPModel"}}, {"model_type", "clip"},
                          {"projection_dim", c.embed_dim}, {"logit_scale_init_value", 2.6592},
                          {"initializer_factor", 1.0}, {"vision_config", vision()}, {"text_config", text()}};
  }
  nlohmann::json j = c.has_vision ? vision() : text();
  j["architectures"] = {c.has_vision ? "CLIPVisionModelWithProjection" : "CLIPTextModelWithProjection"};
  return j;
}

ClipConfig clip_config_from_openai_shapes(const Shapes& shapes, const std::string& where) {
  ClipConfig c;
  c.has_vision = shapes.count("visual.conv1.weight") > 0;
  c.has_text = shapes.count("token_embedding.weight") > 0;
  if (!c.has_vision && !c.has_text)
    throw Error("not an OpenAI-layout CLIP state dict: neither 'visual.conv1.weight' nor 'token_embedding.weight'")
        .file(where).hint("Hugging Face checkpoints are read from their folder (config.json + model.safetensors)");
  if (c.has_vision) {
    const auto conv = shape_of(shapes, "visual.conv1.weight", where);         // [W, 3, P, P]
    const auto pos = shape_of(shapes, "visual.positional_embedding", where);   // [G*G + 1, W]
    const auto proj = shape_of(shapes, "visual.proj", where);                  // [W, D]
    if (conv.size() != 4 || pos.size() != 2 || proj.size() != 2)
      throw Error("vision tensors have unexpected ranks").file(where).key("visual.conv1.weight");
    VisionConfig& v = c.vision;
    v.width = conv[0];
    v.patch_size = conv[3];
    int64_t grid = 0;
    while ((grid + 1) * (grid + 1) <= pos[0] - 1) ++grid;
    if (grid * grid + 1 != pos[0])
      throw Error("positional embedding length is not a square grid plus the class token")
          .file(where).key("visual.positional_embedding").got(std::to_string(pos[0]));
    v.image_size = grid * v.patch_size;
    v.n_layers = count_layers(shapes, "visual.transformer.resblocks.");
    v.n_heads = v.width / 64;
    v.mlp_width = shape_of(shapes, "visual.transformer.resblocks.0.mlp.c_fc.weight", where)[0];
    c.embed_dim = proj[1];
  }
  if (c.has_text) {
    TextConfig& t = c.text;
    const auto tok = shape_of(shapes, "token_embedding.weight", where);  // [V, W]
    t.vocab_size = tok[0];
    t.width = shape_of(shapes, "ln_final.weight", where)[0];
    t.context_length = shape_of(shapes, "positional_embedding", where)[0];
    t.n_layers = count_layers(shapes, "transformer.resblocks.");
    t.n_heads = t.width / 64;
    if (t.n_heads == 0) t.n_heads = 1;  // widths below 64 (tiny test models): one head, as width/64 rounds to 0
    t.mlp_width = shape_of(shapes, "transformer.resblocks.0.mlp.c_fc.weight", where)[0];
    c.embed_dim = shape_of(shapes, "text_projection", where)[1];
  }
  if (c.has_vision && c.vision.n_heads == 0) c.vision.n_heads = 1;
  validate_clip_config(c, where);
  return c;
}

nlohmann::json clip_config_to_json(const ClipConfig& c) {
  nlohmann::json j{{"kd_format", "kd-clip-config"}, {"kd_version", 1}, {"name", c.name},
                   {"embed_dim", c.embed_dim}, {"layer_norm_eps", c.layer_norm_eps}};
  if (c.has_vision)
    j["vision"] = {{"width", c.vision.width}, {"n_layers", c.vision.n_layers}, {"n_heads", c.vision.n_heads},
                   {"mlp_width", c.vision.mlp_width}, {"patch_size", c.vision.patch_size},
                   {"image_size", c.vision.image_size}};
  if (c.has_text)
    j["text"] = {{"width", c.text.width}, {"n_layers", c.text.n_layers}, {"n_heads", c.text.n_heads},
                 {"mlp_width", c.text.mlp_width}, {"context_length", c.text.context_length},
                 {"vocab_size", c.text.vocab_size}};
  return j;
}

ClipConfig clip_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || j.value("kd_format", std::string()) != "kd-clip-config")
    throw Error("not a kd CLIP config").file(where).key("kd_format").expected("kd-clip-config")
        .got(j.is_object() && j.contains("kd_format") ? j["kd_format"].dump() : "nothing");
  if (j.value("kd_version", 0) != 1)
    throw Error("unsupported config version").file(where).key("kd_version").expected("1")
        .got(j.contains("kd_version") ? j["kd_version"].dump() : "nothing");
  ClipConfig c;
  c.name = j.value("name", std::string());
  c.embed_dim = get_int(j, "embed_dim", 512, where);
  c.layer_norm_eps = j.value("layer_norm_eps", 1e-5);
  c.has_vision = j.contains("vision");
  c.has_text = j.contains("text");
  if (c.has_vision) {
    const auto& v = j["vision"];
    c.vision = {get_int(v, "width", 768, where),      get_int(v, "n_layers", 12, where),
                get_int(v, "n_heads", 12, where),     get_int(v, "mlp_width", 3072, where),
                get_int(v, "patch_size", 32, where),  get_int(v, "image_size", 224, where)};
  }
  if (c.has_text) {
    const auto& t = j["text"];
    c.text = {get_int(t, "width", 512, where),        get_int(t, "n_layers", 12, where),
              get_int(t, "n_heads", 8, where),        get_int(t, "mlp_width", 2048, where),
              get_int(t, "context_length", 77, where), get_int(t, "vocab_size", 49408, where)};
  }
  validate_clip_config(c, where);
  return c;
}

}  // namespace kd
