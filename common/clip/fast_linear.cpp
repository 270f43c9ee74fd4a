// fp32 CPU linear layer through oneDNN, for inference and (via a custom autograd function) training, falling back to
// at::linear.
#include "common/clip/fast_linear.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>
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

// a [M, K] x b [N, K] -> a b^T [M, N] (+ bias [N]) through oneDNN; a, b dense fp32, any strides.
at::Tensor onednn_abt(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias = {}) {
  // a becomes a oneDNN tensor (a contiguous copy); b and bias stay dense: oneDNN reorders the weight itself, and
  // LibTorch 1.13 hands it b's strides, so a transposed b costs no copy here (2.x makes b contiguous first).
  return at::mkldnn_linear(a.contiguous().to_mkldnn(), b, bias.defined() ? bias.contiguous() : bias).to_dense();
}

// y = x W^T + b on 2-D x [N, in], W [out, in], b [out] or undefined, with a oneDNN backward:
//   grad_x [N, in] = grad_y W, grad_W [out, in] = grad_y^T x, grad_b [out] = sum over N of grad_y.
// The oneDNN backward is once-differentiable: when the backward itself is recorded (create_graph=true) it computes
// the same products with differentiable at::mm instead, so double backward still works (through OpenBLAS).
struct OneDnnLinear : public torch::autograd::Function<OneDnnLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const c10::optional<at::Tensor>& bias) {  // optional: apply() rejects undefined
    at::Tensor xc = x.contiguous(), wc = weight.contiguous();  // stored by the backward
    ctx->save_for_backward({xc, wc});
    ctx->saved_data["has_bias"] = bias.has_value();  // needs_input_grad counts tensor inputs only
    return onednn_abt(xc, wc, bias.has_value() ? *bias : at::Tensor());  // [N, out]
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];  // [N, in]
    const at::Tensor& w = saved[1];  // [out, in]
    const at::Tensor& gy = grads[0];  // [N, out]
    at::Tensor gx, gw, gb;
    if (!gy.defined()) return {gx, gw, gb};
    const bool recorded = at::GradMode::is_enabled();  // create_graph: stay differentiable
    if (ctx->needs_input_grad(0)) gx = recorded ? gy.mm(w) : onednn_abt(gy, w.t());          // [N, in]
    if (ctx->needs_input_grad(1)) gw = recorded ? gy.t().mm(x) : onednn_abt(gy.t(), x.t());  // [out, in]
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) gb = gy.sum(0);    // [out]
    return {gx, gw, gb};
  }
};

}  // namespace

bool fast_linear_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!at::hasMKLDNN() || !x.defined() || !weight.defined()) return false;
  if (!dense_cpu_float(x) || !dense_cpu_float(weight) || (bias.defined() && !dense_cpu_float(bias))) return false;
  if (x.dim() < 1 || weight.dim() != 2 || x.size(-1) != weight.size(1) || x.numel() == 0) return false;
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0))) return false;
  return !cpu_autocast_enabled();  // autocast would have cast at::linear's inputs to bf16
}

at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!fast_linear_applies(x, weight, bias)) return at::linear(x, weight, bias);
  const int64_t in = weight.size(1), out = weight.size(0);
  std::vector<int64_t> out_sizes(x.sizes().begin(), x.sizes().end());  // [..., out]
  out_sizes.back() = out;
  at::Tensor x2 = x.reshape({-1, in});  // [N, in]; autograd carries the reshape back to x's shape
  const bool grad = at::GradMode::is_enabled() &&
                    (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  at::Tensor y = grad ? OneDnnLinear::apply(x2, weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt)
                      : onednn_abt(x2, weight, bias);  // [N, out]
  return y.view(out_sizes);
}

}  // namespace kd
