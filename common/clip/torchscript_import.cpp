// TorchScript archive / torch.save state dict import through LibTorch's own readers.
#include "common/clip/torchscript_import.h"

#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <vector>

#include "common/util/error.h"

namespace kd {
namespace {

// The whole file, read straight into the buffer torch::pickle_load takes (one copy of a 600 MB checkpoint, not two).
std::vector<char> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open file").file(path.string());
  const std::streamsize size = in.tellg();
  std::vector<char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(bytes.data(), size)) throw Error("cannot read file").file(path.string());
  return bytes;
}

// Throws c10::Error when the bytes are not a pickle LibTorch reads; kd::Error when it is not a dict of tensors.
std::map<std::string, at::Tensor> unpickle_state(const std::filesystem::path& path) {
  std::vector<char> bytes = read_bytes(path);
  if (bytes.size() < 4 || std::string(bytes.data(), 4) != std::string("PK\x03\x04", 4))
    throw Error("not a zip-format torch.save file").file(path.string())
        .hint("LibTorch reads torch.save's zip format (the default since PyTorch 1.6), not the legacy pickle "
              "format: re-save it with torch.save, or convert it to safetensors");
  c10::IValue value = torch::pickle_load(bytes);
  if (!value.isGenericDict()) throw Error("pickle does not hold a dict").file(path.string()).got(value.tagKind());
  std::map<std::string, at::Tensor> out;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) continue;
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  if (out.empty()) throw Error("no tensors found in the archive").file(path.string());
  return out;
}

}  // namespace

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
    return unpickle_state(path);
  } catch (const c10::Error& e) {
    throw Error("cannot read as a TorchScript archive or a torch.save'd state dict").file(path.string())
        .got(std::string(jit_error.substr(0, 200)) + " / " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
}

std::map<std::string, at::Tensor> read_torch_saved_state(const std::filesystem::path& path) {
  try {
    return unpickle_state(path);
  } catch (const c10::Error& e) {
    throw Error("cannot read as a torch.save'd state dict").file(path.string())
        .got(std::string(e.what_without_backtrace()).substr(0, 300));
  }
}

}  // namespace kd
