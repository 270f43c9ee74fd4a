// Checks that the vectorised pil_resize_bicubic gives the same bytes as a plain scalar reading of Pillow's two passes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/image/detail/pil_resize.h"

namespace {

uint8_t clip8(int32_t v) {
  const int32_t s = v >> kd::kPilPrecisionBits;
  return static_cast<uint8_t>(std::min(255, std::max(0, s)));
}

// The oracle: Pillow's passes written the obvious way (horizontal over every source row into an 8-bit [h, win_w, 3]
// temporary, then vertical), with the same per-axis weights (pil_bicubic_axis, covered by the golden-pixel tests).
std::vector<uint8_t> oracle_resize(const kd::RgbView& src, const float box[4], int out_w, int out_h, int win_x,
                                   int win_y, int win_w, int win_h) {
  const kd::ResampleAxis ax = kd::pil_bicubic_axis(src.width, box[0], box[2], out_w, win_x, win_w);
  const kd::ResampleAxis ay = kd::pil_bicubic_axis(src.height, box[1], box[3], out_h, win_y, win_h);
  const int32_t half = 1 << (kd::kPilPrecisionBits - 1);
  std::vector<uint8_t> tmp(static_cast<size_t>(src.height) * win_w * 3);
  for (int y = 0; y < src.height; ++y)
    for (int i = 0; i < win_w; ++i)
      for (int c = 0; c < 3; ++c) {
        int32_t s = half;
        for (int j = 0; j < ax.count[i]; ++j)
          s += src.data[static_cast<size_t>(y) * src.stride + 3 * (ax.first[i] + j) + c] * ax.weights[i * ax.ksize + j];
        tmp[(static_cast<size_t>(y) * win_w + i) * 3 + c] = clip8(s);
      }
  std::vector<uint8_t> out(static_cast<size_t>(win_h) * win_w * 3);
  for (int r = 0; r < win_h; ++r)
    for (int i = 0; i < win_w; ++i)
      for (int c = 0; c < 3; ++c) {
        int32_t s = half;
        for (int j = 0; j < ay.count[r]; ++j)
          s += tmp[(static_cast<size_t>(ay.first[r] + j) * win_w + i) * 3 + c] * ay.weights[r * ay.ksize + j];
        out[(static_cast<size_t>(r) * win_w + i) * 3 + c] = clip8(s);
      }
  return out;
}

}  // namespace

TEST(PilResize, MatchesScalarOracleOnRandomCases) {
  // Tolerance: none (byte equality). Random images (noise, so every tap matters, with 0/255 runs so clamping is hit),
  // random sizes 1..70 (upscale and downscale, odd sizes, 1-pixel images), random boxes and output windows, padded
  // row strides.
  std::mt19937 rng(20240611);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 400; ++t) {
    const int w = t < 8 ? 1 + t % 2 : uni(1, 70), h = t < 8 ? 1 + t / 4 : uni(1, 70);
    const int stride = 3 * w + uni(0, 5);
    std::vector<uint8_t> pixels(static_cast<size_t>(stride) * h);
    for (auto& v : pixels) {
      const int r = uni(0, 9);
      v = static_cast<uint8_t>(r == 0 ? 0 : (r == 1 ? 255 : uni(0, 255)));
    }
    const kd::RgbView src{pixels.data(), w, h, stride};
    const int out_w = uni(1, 3 * w + 2), out_h = uni(1, 3 * h + 2);
    float box[4] = {0.0f, 0.0f, static_cast<float>(w), static_cast<float>(h)};
    if (t % 3 == 1) {  // a sub-box with fractional edges
      box[0] = std::uniform_real_distribution<float>(0.0f, w * 0.5f)(rng);
      box[1] = std::uniform_real_distribution<float>(0.0f, h * 0.5f)(rng);
      box[2] = std::uniform_real_distribution<float>(box[0] + 0.25f, static_cast<float>(w))(rng);
      box[3] = std::uniform_real_distribution<float>(box[1] + 0.25f, static_cast<float>(h))(rng);
    }
    int win_x = 0, win_y = 0, win_w = out_w, win_h = out_h;
    if (t % 2 == 1) {  // an output window
      win_x = uni(0, out_w - 1);
      win_y = uni(0, out_h - 1);
      win_w = uni(1, out_w - win_x);
      win_h = uni(1, out_h - win_y);
    }
    const std::vector<uint8_t> want = oracle_resize(src, box, out_w, out_h, win_x, win_y, win_w, win_h);
    std::vector<uint8_t> got(want.size(), 7);
    kd::pil_resize_bicubic(src, box, out_w, out_h, win_x, win_y, win_w, win_h, got.data());
    const auto diff = std::mismatch(want.begin(), want.end(), got.begin());
    ASSERT_TRUE(diff.first == want.end())
        << "case " << t << ": " << w << "x" << h << " -> " << out_w << "x" << out_h << " box (" << box[0] << ", "
        << box[1] << ", " << box[2] << ", " << box[3] << ") window " << win_x << "," << win_y << " " << win_w << "x"
        << win_h << ": first differing byte " << (diff.first - want.begin()) << " want " << int(*diff.first)
        << " got " << int(*diff.second);
  }
}

TEST(PilResize, MatchesScalarOracleOnClipSizes) {
  // Tolerance: none. The CLIP shapes (640x480 -> 298x224 centre 224 crop, and portrait) with noise.
  std::mt19937 rng(7);
  struct Case { int w, h, out_w, out_h, win_x, win_y; };
  for (const Case& c : {Case{640, 480, 298, 224, 37, 0}, Case{427, 640, 224, 335, 0, 56}, Case{225, 224, 225, 224, 0, 0}}) {
    std::vector<uint8_t> pixels(static_cast<size_t>(c.w) * c.h * 3);
    for (auto& v : pixels) v = static_cast<uint8_t>(rng());
    const kd::RgbView src{pixels.data(), c.w, c.h, c.w * 3};
    const float box[4] = {0.0f, 0.0f, static_cast<float>(c.w), static_cast<float>(c.h)};
    const std::vector<uint8_t> want = oracle_resize(src, box, c.out_w, c.out_h, c.win_x, c.win_y, 224, 224);
    std::vector<uint8_t> got(want.size());
    kd::pil_resize_bicubic(src, box, c.out_w, c.out_h, c.win_x, c.win_y, 224, 224, got.data());
    const auto diff = std::mismatch(want.begin(), want.end(), got.begin());
    EXPECT_TRUE(diff.first == want.end()) << c.w << "x" << c.h << ": first differing byte "
                                          << (diff.first - want.begin());
  }
}
