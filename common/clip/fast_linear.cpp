// fp32 CPU inference linear layer through oneDNN, falling back to at::linear.
#include "common/clip/fast_linear.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace kd {
namespace {

bool cpu_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(c10::DeviceType::CPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

bool dense_cpu_float(const at::Tensor& t) {
  return t.device().is_cpu() && t.layout() == at::kStrided && t.scalar_type() == at::kFloat;
}

}  // namespace

bool fast_linear_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!at::hasMKLDNN() || !x.defined() || !weight.defined()) return false;
  if (!dense_cpu_float(x) || !dense_cpu_float(weight) || (bias.defined() && !dense_cpu_float(bias))) return false;
  if (x.dim() < 1 || weight.dim() != 2 || x.size(-1) != weight.size(1) || x.numel() == 0) return false;
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0))) return false;
  if (at::GradMode::is_enabled() &&
      (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad())))
    return false;
  return !cpu_autocast_enabled();  // autocast would have cast at::linear's inputs to bf16
}

at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!fast_linear_applies(x, weight, bias)) return at::linear(x, weight, bias);
  const int64_t in = weight.size(1), out = weight.size(0);
  std::vector<int64_t> out_sizes(x.sizes().begin(), x.sizes().end());  // [..., out]
  out_sizes.back() = out;
  // [N, in] as a oneDNN tensor (a copy); weight and bias stay dense (oneDNN reorders the weight itself).
  at::Tensor x2 = x.reshape({-1, in}).contiguous().to_mkldnn();
  at::Tensor y = at::mkldnn_linear(x2, weight.contiguous(), bias.defined() ? bias.contiguous() : bias);  // [N, out]
  return y.to_dense().view(out_sizes);
}

}  // namespace kd
