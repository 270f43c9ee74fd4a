// TorchScript archive / torch.save state dict import through LibTorch's own readers.
#include "common/clip/torchscript_import.h"

#include <torch/script.h>
#include <torch/serialize.h>

#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {

std::map<std::string, at::Tensor> read_torchscript_state(const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> out;
  std::string jit_error;
  try {
    torch::jit::Module module = torch::jit::load(path.string(), torch::kCPU);
    for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.name] = p.value.detach();
    for (const auto& b : module.named_buffers(/*recurse=*/true)) out[b.name] = b.value.detach();
    return out;
  } catch (const c10::Error& e) {
    jit_error = e.what_without_backtrace();
  }
  // Not a TorchScript archive: maybe a torch.save'd {name: tensor} dict (OpenAI's clip.load falls back the same way).
  const std::string bytes = read_file(path);
  try {
    c10::IValue value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    if (!value.isGenericDict()) throw Error("pickle does not hold a dict").file(path.string());
    for (const auto& item : value.toGenericDict()) {
      if (!item.key().isString() || !item.value().isTensor()) continue;
      out[item.key().toStringRef()] = item.value().toTensor();
    }
  } catch (const c10::Error& e) {
    throw Error("cannot read as a TorchScript archive or a torch.save'd state dict").file(path.string())
        .got(std::string(jit_error.substr(0, 200)) + " / " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
  if (out.empty()) throw Error("no tensors found in the archive").file(path.string());
  return out;
}

}  // namespace kd
