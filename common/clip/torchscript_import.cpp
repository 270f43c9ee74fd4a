// TorchScript archive import through LibTorch's own reader; torch.save'd state dicts through torch_pickle.h.
#include "common/clip/torchscript_import.h"

#include <torch/script.h>

#include "common/clip/torch_pickle.h"
#include "common/util/error.h"

namespace kd {

std::map<std::string, at::Tensor> read_torchscript_state(const std::filesystem::path& path) {
  std::string jit_error;
  try {
    torch::jit::Module module = torch::jit::load(path.string(), torch::kCPU);
    std::map<std::string, at::Tensor> out;
    for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.name] = p.value.detach();
    for (const auto& b : module.named_buffers(/*recurse=*/true)) out[b.name] = b.value.detach();
    if (out.empty()) throw Error("no tensors found in the archive").file(path.string());
    return out;
  } catch (const c10::Error& e) {
    jit_error = e.what_without_backtrace();
  }
  // Not a TorchScript archive: maybe a torch.save'd {name: tensor} dict (OpenAI's clip.load falls back the same way).
  try {
    return read_torch_state_dict(path);
  } catch (const Error& e) {
    throw Error("cannot read as a TorchScript archive or a torch.save'd state dict").file(path.string())
        .got(jit_error.substr(0, 200) + " / " + std::string(e.what()).substr(0, 300));
  }
}

}  // namespace kd
