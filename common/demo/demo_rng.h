// The demo's random numbers: kd's SplitMix64 (common/util/splitmix64.h) with the draws the demo needs, so that
// generated data is identical for a seed on every machine and in every thread layout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/util/splitmix64.h"

namespace kd::demo {

class DemoRng {
 public:
  explicit DemoRng(uint64_t seed) : state_(seed) {}

  // Streams that never overlap in practice: one per (seed, stream tag, index), e.g. one per image.
  static DemoRng for_item(uint64_t seed, uint64_t stream, uint64_t index) {
    DemoRng mixer(seed ^ (stream * 0xD1B54A32D192ED03ull));
    const uint64_t a = mixer.next_u64();
    DemoRng mixer2(a ^ (index * kSplitMixGamma) ^ 0x5851F42D4C957F2Dull);
    return DemoRng(mixer2.next_u64());
  }

  uint64_t next_u64() { return splitmix64_next(state_); }
  // Uniform in [0, 1), 53 bits.
  double uniform() { return unit_interval(next_u64()); }
  // Uniform in [lo, hi], inclusive (lo <= hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n >= 1.
  int below(int n) { return static_cast<int>(uniform() * n); }
  // Uniform integer in [lo, hi], inclusive.
  int between(int lo, int hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return uniform() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) { return items[static_cast<size_t>(below(static_cast<int>(items.size())))]; }

 private:
  uint64_t state_;
};

}  // namespace kd::demo
