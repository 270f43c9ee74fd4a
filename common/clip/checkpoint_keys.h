// The one table of CLIP checkpoint keys: every tensor name and shape in OpenAI's and in Hugging Face's layout for a
// given config, and how each OpenAI tensor maps onto HF tensors. Loaders and writers both use it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clip/clip_config.h"

namespace kd {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// OpenAI state-dict layout (`visual.*`, `transformer.*`, `token_embedding.weight`, ..., `logit_scale`), in the order
// OpenAI's model registers them. Towers absent from the config are left out; logit_scale only with both towers.
std::vector<TensorSpec> openai_tensor_specs(const ClipConfig& config);

// Hugging Face layout (`vision_model.*`, `text_model.*`, `visual_projection.weight`, ...), sorted by name, including
// the `position_ids` buffers HF saves. A single-tower config gives CLIPVisionModelWithProjection /
// CLIPTextModelWithProjection keys.
std::vector<TensorSpec> hf_tensor_specs(const ClipConfig& config);

// True for HF keys that are buffers, not weights (`*.position_ids`): a loader may accept their absence.
bool is_hf_buffer_key(const std::string& name);

enum class HfRelation {
  kSame,        // same tensor, other name
  kTransposed,  // OpenAI [W, D] projection == HF [D, W] weight
  kQkvSplit,    // OpenAI in_proj_{weight,bias} [3W(, W)] == HF q, k, v stacked in that order
};

struct KeyLink {
  std::string openai;
  std::vector<std::string> hf;  // one name, or q, k, v for kQkvSplit
  HfRelation relation = HfRelation::kSame;
};

// One link per OpenAI tensor of the config (same order as openai_tensor_specs).
std::vector<KeyLink> openai_hf_links(const ClipConfig& config);

}  // namespace kd
