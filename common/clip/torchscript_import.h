// Reads the tensors of an OpenAI TorchScript archive (like the released ViT-B-32.pt) or of a torch.save'd state
// dict, by parameter name. Kept apart so only this file pulls in the TorchScript headers.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace kd {

// name -> tensor (CPU, the archive's dtype). Throws kd::Error naming the file when it is neither a TorchScript
// archive nor a torch.save'd dict of tensors (read_torch_state_dict, torch_pickle.h).
std::map<std::string, at::Tensor> read_torchscript_state(const std::filesystem::path& path);

}  // namespace kd
