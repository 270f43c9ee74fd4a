// IEEE 754 binary16 <-> float32 conversion for cache embeddings stored as fp16 (same rounding as numpy.float16).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kd::cache {

// Round to nearest, ties to even; overflow gives +-inf, NaN stays NaN (quiet). Bit pattern of the half.
uint16_t float_to_half(float value);
// Exact (every half is a float).
float half_to_float(uint16_t bits);

// The largest finite half, 65504.
inline constexpr float kHalfMax = 65504.0f;

// Converts n values; returns the index of the first finite input that overflowed to inf, or n if none did.
size_t floats_to_halves(const float* in, uint16_t* out, size_t n);
void halves_to_floats(const uint16_t* in, float* out, size_t n);

}  // namespace kd::cache
