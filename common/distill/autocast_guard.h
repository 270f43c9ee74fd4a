// Mixed precision for one scope: bf16 autocast on CPU or CUDA, fp16 autocast on CUDA. Master weights stay float32;
// matmuls run in the low precision. The few LibTorch API differences (1.13 vs 2.x) are confined to this file.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

namespace kd {

class AutocastGuard {
 public:
  // dtype kFloat: no autocast (the guard does nothing). kHalf needs a CUDA device (kd::Error otherwise).
  AutocastGuard(c10::DeviceType device, at::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_;
};

}  // namespace kd
