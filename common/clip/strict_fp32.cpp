// use_strict_fp32_on_cuda: see strict_fp32.h.
#include "common/clip/strict_fp32.h"

#include <ATen/Context.h>

namespace kd {

void use_strict_fp32_on_cuda() {
  if (!at::hasCUDA()) return;
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
}

}  // namespace kd
