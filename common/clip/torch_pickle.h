// Reads a torch.save'd state dict (zip format, e.g. Hugging Face's pytorch_model.bin) without Python: a small
// unpickler for what torch.save writes for {name: tensor} (OrderedDict, _rebuild_tensor_v2, storages in data/N).
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace kd {

// name -> tensor (CPU, the file's dtype, contiguous) of the top-level dict (a dict or collections.OrderedDict; its
// _metadata and entries that are not tensors are ignored). Throws kd::Error naming the file for anything else: not
// a zip archive (the legacy pre-1.6 format), an opcode or global outside that subset, a missing storage record.
std::map<std::string, at::Tensor> read_torch_state_dict(const std::filesystem::path& path);

}  // namespace kd
