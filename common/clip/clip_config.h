// CLIP architecture as data: one config type for the teacher and for students (a student has one tower).
// Read from a Hugging Face config.json, inferred from an OpenAI state dict's shapes, or kd's own JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kd {

struct VisionConfig {
  int64_t width = 768;       // transformer width W
  int64_t n_layers = 12;
  int64_t n_heads = 12;      // OpenAI files do not record it: width / 64
  int64_t mlp_width = 3072;  // 4 * width in every CLIP
  int64_t patch_size = 32;   // pixels
  int64_t image_size = 224;  // pixels, square input
  int64_t n_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};

struct TextConfig {
  int64_t width = 512;
  int64_t n_layers = 12;
  int64_t n_heads = 8;
  int64_t mlp_width = 2048;
  int64_t context_length = 77;  // tokens
  int64_t vocab_size = 49408;
};

struct ClipConfig {
  bool has_vision = true;
  bool has_text = true;
  VisionConfig vision;
  TextConfig text;
  int64_t embed_dim = 512;        // projection output D
  double layer_norm_eps = 1e-5;
  std::string name;               // free text, e.g. "ViT-B/32" or a preset name
};

// OpenAI's ViT-B/32 (the teacher).
ClipConfig vit_b_32_config();
// The seed's students: image ViT 576/6/24 patch 32 at 224 px, text 128/6/8; both project to 512.
ClipConfig seed_image_student_config();
ClipConfig seed_text_student_config();

// Throws kd::Error (naming `where`) when a field is impossible: width % heads, image_size % patch_size, sizes <= 0.
void validate_clip_config(const ClipConfig& config, const std::string& where = "clip config");

// Hugging Face CLIPConfig / CLIPVisionConfig / CLIPTextConfig JSON (the file HF's from_pretrained reads).
ClipConfig clip_config_from_hf_json(const nlohmann::json& j, const std::string& where);
ClipConfig read_hf_clip_config(const std::filesystem::path& config_json);
nlohmann::json clip_config_to_hf_json(const ClipConfig& config);

// What OpenAI's build_model does: every size from the state dict's shapes; heads = width / 64.
// `shapes` maps OpenAI-layout key -> shape. Towers absent from the dict are marked absent.
ClipConfig clip_config_from_openai_shapes(const std::map<std::string, std::vector<int64_t>>& shapes,
                                          const std::string& where);

// kd's own JSON (written beside every student and run): {"kd_format": "kd-clip-config", "kd_version": 1, ...}.
nlohmann::json clip_config_to_json(const ClipConfig& config);
ClipConfig clip_config_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace kd
