// y = x W^T + b for fp32 CPU inference and training through oneDNN (mkldnn), which in Debian's LibTorch 1.13 is 3-5x
// faster than the OpenBLAS sgemm behind at::linear; anything else (autocast, other dtypes or devices) uses at::linear.
#pragma once

#include <ATen/core/Tensor.h>

namespace kd {

// x: [..., in]; weight: [out, in]; bias: [out] or undefined. Returns [..., out] in x's dtype.
// Takes oneDNN when fast_linear_applies(...) (result equal to at::linear within float32 rounding: max|d|/max|y|
// about 1e-6, tested at 1e-5); otherwise returns at::linear(x, weight, bias) itself, bit for bit. Under autograd the
// oneDNN route records a custom backward (grad_x = grad_y W, grad_W = grad_y^T x through oneDNN, grad_b = sum of
// grad_y; equal to at::linear's gradients within float32 rounding, tested at 1e-5). That backward is
// once-differentiable on oneDNN: with create_graph=true it uses differentiable at::mm instead (OpenBLAS speed).
// No forward-mode AD (jvp) on the oneDNN route.
at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// True when fast_linear takes the oneDNN route: LibTorch built with mkldnn; x, weight (and bias) dense float32 CPU
// tensors of matching shapes; CPU autocast off. Autograd (grad mode, requires_grad) does not matter.
bool fast_linear_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

}  // namespace kd
