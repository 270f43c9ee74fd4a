// CLIP key and shape tables for the OpenAI and Hugging Face layouts, generated from a ClipConfig.
#include "common/clip/checkpoint_keys.h"

#include <algorithm>

namespace kd {
namespace {

// One residual block, OpenAI names (suffixes after "<prefix>resblocks.N.") with shapes, and their HF twins.
struct BlockLink {
  const char* openai;
  std::vector<const char*> hf;
  HfRelation relation;
};

const std::vector<BlockLink>& block_links() {
  static const std::vector<BlockLink> kLinks = {
      {"attn.in_proj_weight", {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"},
       HfRelation::kQkvSplit},
      {"attn.in_proj_bias", {"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"},
       HfRelation::kQkvSplit},
      {"attn.out_proj.weight", {"self_attn.out_proj.weight"}, HfRelation::kSame},
      {"attn.out_proj.bias", {"self_attn.out_proj.bias"}, HfRelation::kSame},
      {"ln_1.weight", {"layer_norm1.weight"}, HfRelation::kSame},
      {"ln_1.bias", {"layer_norm1.bias"}, HfRelation::kSame},
      {"mlp.c_fc.weight", {"mlp.fc1.weight"}, HfRelation::kSame},
      {"mlp.c_fc.bias", {"mlp.fc1.bias"}, HfRelation::kSame},
      {"mlp.c_proj.weight", {"mlp.fc2.weight"}, HfRelation::kSame},
      {"mlp.c_proj.bias", {"mlp.fc2.bias"}, HfRelation::kSame},
      {"ln_2.weight", {"layer_norm2.weight"}, HfRelation::kSame},
      {"ln_2.bias", {"layer_norm2.bias"}, HfRelation::kSame},
  };
  return kLinks;
}

std::vector<int64_t> block_shape(const std::string& suffix, int64_t width, int64_t mlp_width) {
  if (suffix == "attn.in_proj_weight") return {3 * width, width};
  if (suffix == "attn.in_proj_bias") return {3 * width};
  if (suffix == "attn.out_proj.weight") return {width, width};
  if (suffix == "mlp.c_fc.weight") return {mlp_width, width};
  if (suffix == "mlp.c_fc.bias") return {mlp_width};
  if (suffix == "mlp.c_proj.weight") return {width, mlp_width};
  return {width};  // biases of width W and LayerNorm parameters
}

struct Entry {
  TensorSpec openai;
  KeyLink link;
};

void add_blocks(std::vector<Entry>& out, const std::string& openai_prefix, const std::string& hf_prefix,
                int64_t n_layers, int64_t width, int64_t mlp_width) {
  for (int64_t i = 0; i < n_layers; ++i) {
    const std::string op = openai_prefix + "resblocks." + std::to_string(i) + ".";
    const std::string hp = hf_prefix + "encoder.layers." + std::to_string(i) + ".";
    for (const BlockLink& b : block_links()) {
      KeyLink link{op + b.openai, {}, b.relation};
      for (const char* h : b.hf) link.hf.push_back(hp + h);
      out.push_back({{op + b.openai, block_shape(b.openai, width, mlp_width)}, link});
    }
  }
}

std::vector<Entry> entries(const ClipConfig& c) {
  std::vector<Entry> out;
  auto same = [&](const std::string& o, std::vector<int64_t> shape, const std::string& h,
                  HfRelation rel = HfRelation::kSame) { out.push_back({{o, std::move(shape)}, {o, {h}, rel}}); };
  if (c.has_text) {
    const TextConfig& t = c.text;
    same("positional_embedding", {t.context_length, t.width}, "text_model.embeddings.position_embedding.weight");
    same("text_projection", {t.width, c.embed_dim}, "text_projection.weight", HfRelation::kTransposed);
  }
  if (c.has_vision && c.has_text) same("logit_scale", {}, "logit_scale");
  if (c.has_vision) {
    const VisionConfig& v = c.vision;
    same("visual.class_embedding", {v.width}, "vision_model.embeddings.class_embedding");
    same("visual.positional_embedding", {v.n_patches() + 1, v.width},
         "vision_model.embeddings.position_embedding.weight");
    same("visual.proj", {v.width, c.embed_dim}, "visual_projection.weight", HfRelation::kTransposed);
    same("visual.conv1.weight", {v.width, 3, v.patch_size, v.patch_size},
         "vision_model.embeddings.patch_embedding.weight");
    same("visual.ln_pre.weight", {v.width}, "vision_model.pre_layrnorm.weight");
    same("visual.ln_pre.bias", {v.width}, "vision_model.pre_layrnorm.bias");
    add_blocks(out, "visual.transformer.", "vision_model.", v.n_layers, v.width, v.mlp_width);
    same("visual.ln_post.weight", {v.width}, "vision_model.post_layernorm.weight");
    same("visual.ln_post.bias", {v.width}, "vision_model.post_layernorm.bias");
  }
  if (c.has_text) {
    const TextConfig& t = c.text;
    add_blocks(out, "transformer.", "text_model.", t.n_layers, t.width, t.mlp_width);
    same("token_embedding.weight", {t.vocab_size, t.width}, "text_model.embeddings.token_embedding.weight");
    same("ln_final.weight", {t.width}, "text_model.final_layer_norm.weight");
    same("ln_final.bias", {t.width}, "text_model.final_layer_norm.bias");
  }
  return out;
}

}  // namespace

std::vector<TensorSpec> openai_tensor_specs(const ClipConfig& config) {
  std::vector<TensorSpec> out;
  for (Entry& e : entries(config)) out.push_back(std::move(e.openai));
  return out;
}

std::vector<KeyLink> openai_hf_links(const ClipConfig& config) {
  std::vector<KeyLink> out;
  for (Entry& e : entries(config)) out.push_back(std::move(e.link));
  return out;
}

bool is_hf_buffer_key(const std::string& name) {
  const std::string suffix = "position_ids";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<TensorSpec> hf_tensor_specs(const ClipConfig& config) {
  std::vector<TensorSpec> out;
  for (const Entry& e : entries(config)) {
    const auto& shape = e.openai.shape;
    switch (e.link.relation) {
      case HfRelation::kSame:
        out.push_back({e.link.hf[0], shape});
        break;
      case HfRelation::kTransposed:
        out.push_back({e.link.hf[0], {shape[1], shape[0]}});
        break;
      case HfRelation::kQkvSplit: {
        std::vector<int64_t> part = shape;
        part[0] /= 3;
        for (const std::string& h : e.link.hf) out.push_back({h, part});
        break;
      }
    }
  }
  if (config.has_vision) out.push_back({"vision_model.embeddings.position_ids", {1, config.vision.n_patches() + 1}});
  if (config.has_text) out.push_back({"text_model.embeddings.position_ids", {1, config.text.context_length}});
  std::sort(out.begin(), out.end(), [](const TensorSpec& a, const TensorSpec& b) { return a.name < b.name; });
  return out;
}

}  // namespace kd
