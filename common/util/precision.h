// Compute precision, one enum for every tool (kd-extract's teacher, kd-train's autocast, the demo teacher). Both
// spellings in use are accepted: kd-extract's fp32|fp16|bf16 and the seed's (Lightning's) 32|16|bf16.
#pragma once

#include <vector>

#include "common/util/enum_names.h"

namespace kd {

enum class Precision {
  kFp32,  // float32 throughout
  kFp16,  // float16 (CUDA): kd-train autocasts with dynamic loss scaling; kd-extract runs the teacher in fp16
  kBf16,  // bfloat16 autocast (kd-train, demo) or bfloat16 weights (kd-extract); float32 master weights
};

inline const std::vector<EnumSpelling<Precision>>& enum_spellings(Precision) {
  static const std::vector<EnumSpelling<Precision>> kNames = {
      {Precision::kFp32, {"fp32", "32", "32-true"}},
      {Precision::kFp16, {"fp16", "16", "16-mixed"}},
      {Precision::kBf16, {"bf16", "bf16-mixed"}},
  };
  return kNames;
}

}  // namespace kd
