// The bridge between safetensors files and LibTorch tensors: the only part of checkpoint I/O that includes torch.
// Bytes are copied, so a tensor outlives the SafetensorsFile it came from.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/clip/safetensors.h"

namespace kd {

// The torch dtype of a safetensors dtype string ("F32" -> torch::kFloat32); throws kd::Error for an unknown one.
torch::Dtype torch_dtype_from_safetensors(const std::string& dtype);
// The safetensors dtype string of a torch dtype; throws kd::Error for one safetensors cannot hold (complex, ...).
std::string safetensors_dtype_from_torch(torch::Dtype dtype);

// A new, owning, contiguous CPU tensor with the entry's dtype and shape and a copy of its bytes (F16 and BF16 keep
// their bits; nothing is converted). Throws kd::Error naming the key for a BOOL tensor holding a byte other than 0/1.
torch::Tensor tensor_from_safetensors(const SafetensorsEntry& entry);

// Writes named tensors with write_safetensors (atomic, validated). Each tensor is detached, moved to the CPU and
// made contiguous first; its dtype must be one safetensors holds. Throws kd::Error naming the file and the key.
void write_safetensors_tensors(const std::filesystem::path& path,
                               const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace kd
