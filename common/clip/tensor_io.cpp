// Copies safetensors entries into LibTorch tensors and writes LibTorch tensors as safetensors.
#include "common/clip/tensor_io.h"

#include <cstring>
#include <sstream>

#include "common/util/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; kd copies it as is");

namespace kd {
namespace {

struct DtypePair {
  const char* name;
  torch::Dtype dtype;
};

constexpr DtypePair kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};

}  // namespace

torch::Dtype torch_dtype_from_safetensors(const std::string& dtype) {
  for (const DtypePair& p : kDtypes)
    if (dtype == p.name) return p.dtype;
  safetensors_dtype_size(dtype);  // throws the standard "unknown dtype" error
  throw Error("safetensors dtype has no torch equivalent").got(dtype);
}

std::string safetensors_dtype_from_torch(torch::Dtype dtype) {
  for (const DtypePair& p : kDtypes)
    if (dtype == p.dtype) return p.name;
  std::ostringstream got;
  got << dtype;
  throw Error("tensor dtype cannot be stored in safetensors")
      .expected("float64|float32|float16|bfloat16|int64|int32|int16|int8|uint8|bool")
      .got(got.str());
}

torch::Tensor tensor_from_safetensors(const SafetensorsEntry& entry) {
  torch::Dtype dtype;
  try {
    dtype = torch_dtype_from_safetensors(entry.dtype);
  } catch (Error& e) {
    throw e.key(entry.name);
  }
  torch::Tensor t = torch::empty(entry.shape, torch::TensorOptions().dtype(dtype).device(torch::kCPU));
  if (static_cast<size_t>(t.nbytes()) != entry.n_bytes)
    throw Error("tensor byte count does not match shape and dtype").key(entry.name)
        .expected(std::to_string(t.nbytes()) + " bytes for " + entry.dtype + " " + shape_to_string(entry.shape))
        .got(std::to_string(entry.n_bytes) + " bytes");
  if (entry.dtype == "BOOL") {
    for (size_t i = 0; i < entry.n_bytes; ++i)
      if (entry.data[i] > 1)
        throw Error("BOOL tensor holds a byte that is neither 0 nor 1").key(entry.name)
            .expected("0 or 1").got(std::to_string(entry.data[i]) + " at element " + std::to_string(i));
  }
  if (entry.n_bytes) std::memcpy(t.data_ptr(), entry.data, entry.n_bytes);
  return t;
}

void write_safetensors_tensors(const std::filesystem::path& path,
                               const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;  // the contiguous CPU copies the refs point into
  std::vector<SafetensorsTensorRef> refs;
  keep_alive.reserve(tensors.size());
  refs.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error("tensor is undefined").file(path.string()).key(name);
    std::string dtype;
    try {
      dtype = safetensors_dtype_from_torch(tensor.scalar_type());
    } catch (Error& e) {
      throw e.file(path.string()).key(name);
    }
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    keep_alive.push_back(t);
    SafetensorsTensorRef ref;
    ref.name = name;
    ref.dtype = dtype;
    ref.shape = t.sizes().vec();
    ref.data = t.numel() ? t.data_ptr() : nullptr;
    ref.n_bytes = static_cast<size_t>(t.nbytes());
    refs.push_back(std::move(ref));
  }
  write_safetensors(path, refs, metadata);
}

}  // namespace kd
