// Reading and writing CLIP weights in the formats users have: a Hugging Face folder (config.json + model.safetensors
// or pytorch_model.bin), an OpenAI-layout .safetensors, and an OpenAI TorchScript archive (the released ViT-B-32.pt).
// Every key and shape is checked against the table in checkpoint_keys.h before any weight is used.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "common/clip/clip_model.h"

namespace kd {

enum class CheckpointFormat { kHfDirectory, kOpenAiSafetensors, kOpenAiTorchScript };
std::string to_string(CheckpointFormat format);

// A folder with config.json and model.safetensors or pytorch_model.bin -> HF, and so is one of those two files with a
// config.json beside it; other *.safetensors -> OpenAI layout; *.pt / *.pth / *.jit / *.bin -> TorchScript archive
// (or a torch.save'd state dict) in OpenAI layout. Throws kd::Error naming the path otherwise.
CheckpointFormat detect_checkpoint_format(const std::filesystem::path& path);

// The file the weights are read from: of a HF folder, model.safetensors if present (as transformers prefers it), else
// pytorch_model.bin; otherwise the path itself. (The teacher id hashes the tensors, not this file: weights_id.h.)
std::filesystem::path checkpoint_weights_file(const std::filesystem::path& path);

struct LoadedClip {
  ClipModel model;                  // float32, CPU, eval mode
  CheckpointFormat format;
  std::filesystem::path weights_file;
};

// Loads and checks: a missing, unexpected (HF `position_ids` buffers excepted) or mis-shaped tensor is a kd::Error
// with the file, the key, the expected and the found shape. Weights of any float dtype become float32.
LoadedClip load_clip(const std::filesystem::path& path);

// OpenAI layout, float32 (or the tensors' dtype), atomically. Metadata adds {"format": "pt"} and kd's config JSON
// under "kd_clip_config".
void save_clip_openai_safetensors(const ClipModel& model, const std::filesystem::path& file,
                                  std::map<std::string, std::string> metadata = {});
// Hugging Face layout: DIR/config.json and DIR/model.safetensors (CLIPModel, or CLIPVisionModelWithProjection /
// CLIPTextModelWithProjection for one tower), with position_ids buffers as HF saves them.
void save_clip_hf(const ClipModel& model, const std::filesystem::path& dir);

}  // namespace kd
