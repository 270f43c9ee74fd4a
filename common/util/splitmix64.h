// SplitMix64 (Steele, Lea & Flood 2014), the one generator behind kd's seeded choices (views, data order, the demo's
// data): tiny, portable and the same on every machine, unlike std:: distributions.
#pragma once

#include <cstdint>

namespace kd {

constexpr uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function: a bijective mix of 64 bits.
constexpr uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One step: advances `state` by the gamma and returns the mixed state.
inline uint64_t splitmix64_next(uint64_t& state) { return splitmix64_mix(state += kSplitMixGamma); }

// The top 53 bits of `bits` as a double uniform in [0, 1).
constexpr double unit_interval(uint64_t bits) {
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace kd
