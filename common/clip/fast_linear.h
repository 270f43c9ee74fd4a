// y = x W^T + b for fp32 CPU inference through oneDNN (mkldnn), which in Debian's LibTorch 1.13 is 3-5x faster than
// the OpenBLAS sgemm behind at::linear; anything else (autograd, autocast, other dtypes or devices) uses at::linear.
#pragma once

#include <ATen/core/Tensor.h>

namespace kd {

// x: [..., in]; weight: [out, in]; bias: [out] or undefined. Returns [..., out] in x's dtype.
// Takes oneDNN when fast_linear_applies(...) (result equal to at::linear within float32 rounding: max|d|/max|y|
// about 1e-6, tested at 1e-5); otherwise returns at::linear(x, weight, bias) itself, bit for bit.
at::Tensor fast_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// True when fast_linear takes the oneDNN route: LibTorch built with mkldnn; x, weight (and bias) dense float32 CPU
// tensors of matching shapes; no autograd (grad mode off, or none of them requires grad); CPU autocast off.
bool fast_linear_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

}  // namespace kd
