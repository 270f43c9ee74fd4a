// Reads the tensors of an OpenAI TorchScript archive (like the released ViT-B-32.pt) or of a torch.save'd state
// dict (like Hugging Face's pytorch_model.bin), by parameter name. Kept apart so only this file pulls in the
// TorchScript headers.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace kd {

// name -> tensor (CPU, the archive's dtype). Throws kd::Error naming the file when it is neither a TorchScript
// archive nor a pickled dict of tensors.
std::map<std::string, at::Tensor> read_torchscript_state(const std::filesystem::path& path);

// name -> tensor of a torch.save'd {name: tensor} dict (zip format, as torch.save writes by default; entries that
// are not tensors are skipped). Throws kd::Error naming the file otherwise.
std::map<std::string, at::Tensor> read_torch_saved_state(const std::filesystem::path& path);

}  // namespace kd
