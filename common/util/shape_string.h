// How kd writes a tensor or dataset shape in messages: "[8, 3, 224, 224]", "[]" for a scalar.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kd {

std::string shape_to_string(const std::vector<int64_t>& shape);

// Any range of integers, e.g. a tensor's sizes(): shape_to_string(x.sizes()).
template <class IntRange>
std::string shape_to_string(const IntRange& sizes) {
  return shape_to_string(std::vector<int64_t>(sizes.begin(), sizes.end()));
}

}  // namespace kd
