// Small float32 matrices written out in tests: matrix({{1, 0}, {0, 1}}) -> [2, 2].
#pragma once

#include <torch/types.h>

#include <vector>

namespace kd::test {

// rows: [N][D] (every row the same length) -> float32 CPU tensor [N, D].
inline torch::Tensor matrix(const std::vector<std::vector<float>>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size()), d = static_cast<int64_t>(rows[0].size());
  auto out = torch::empty({n, d}, torch::kFloat);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) out[i][j] = rows[i][j];
  return out;
}

}  // namespace kd::test
