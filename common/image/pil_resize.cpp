// Pillow-exact bicubic resampling of 8-bit RGB (see pil_resize.h for the math).
#include "common/image/pil_resize.h"

#include <algorithm>
#include <cmath>

#include "common/util/error.h"

namespace kd {
namespace {

// Keys' cubic convolution kernel with a = -0.5, support 2.
inline double cubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

inline uint8_t clip8(int32_t v) {
  const int32_t s = v >> kPilPrecisionBits;  // arithmetic shift, as Pillow's lookup index
  return static_cast<uint8_t>(s < 0 ? 0 : (s > 255 ? 255 : s));
}

}  // namespace

ResampleAxis pil_bicubic_axis(int in_size, float in0, float in1, int out_size, int out_begin, int out_count) {
  if (in_size <= 0 || out_size <= 0 || out_begin < 0 || out_count < 0 || out_begin + out_count > out_size)
    throw Error("invalid resampling axis").got("in " + std::to_string(in_size) + ", out " + std::to_string(out_size) +
                                               ", window " + std::to_string(out_begin) + "+" +
                                               std::to_string(out_count));
  const double scale = static_cast<double>(in1 - in0) / out_size;  // float subtraction, as Pillow
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 2.0 * filterscale;
  const double inv = 1.0 / filterscale;
  ResampleAxis axis;
  axis.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_count);
  axis.count.resize(out_count);
  axis.weights.assign(static_cast<size_t>(out_count) * axis.ksize, 0);
  std::vector<double> w(axis.ksize);
  for (int i = 0; i < out_count; ++i) {
    const double center = in0 + (out_begin + i + 0.5) * scale;
    int lo = static_cast<int>(center - support + 0.5);
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    const int n = std::max(0, hi - lo);
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      w[j] = cubic((j + lo - center + 0.5) * inv);
      total += w[j];
    }
    int32_t* k = &axis.weights[static_cast<size_t>(i) * axis.ksize];
    for (int j = 0; j < n; ++j) {
      const double v = total != 0.0 ? w[j] / total : w[j];
      const double f = v * (1 << kPilPrecisionBits);
      k[j] = static_cast<int32_t>(v < 0 ? f - 0.5 : f + 0.5);
    }
    axis.first[i] = lo;
    axis.count[i] = n;
  }
  return axis;
}

void pil_resize_bicubic(const RgbView& src, const float box[4], int out_w, int out_h, int win_x, int win_y,
                        int win_w, int win_h, uint8_t* dst) {
  if (src.width <= 0 || src.height <= 0 || win_w <= 0 || win_h <= 0) return;
  const ResampleAxis ax = pil_bicubic_axis(src.width, box[0], box[2], out_w, win_x, win_w);
  const ResampleAxis ay = pil_bicubic_axis(src.height, box[1], box[3], out_h, win_y, win_h);

  // Source rows the vertical pass reads.
  int row_lo = src.height, row_hi = 0;
  for (int i = 0; i < win_h; ++i) {
    row_lo = std::min(row_lo, ay.first[i]);
    row_hi = std::max(row_hi, ay.first[i] + ay.count[i]);
  }
  if (row_hi <= row_lo) row_lo = row_hi = 0;

  // Horizontal pass: [row_hi - row_lo, win_w, 3] uint8, clamped like Pillow's 8-bit temporary image.
  const int tmp_rows = row_hi - row_lo;
  std::vector<uint8_t> tmp(static_cast<size_t>(tmp_rows) * win_w * 3);
  constexpr int32_t kHalf = 1 << (kPilPrecisionBits - 1);
  for (int r = 0; r < tmp_rows; ++r) {
    const uint8_t* row = src.data + static_cast<size_t>(row_lo + r) * src.stride;
    uint8_t* out = &tmp[static_cast<size_t>(r) * win_w * 3];
    for (int i = 0; i < win_w; ++i) {
      const int32_t* k = &ax.weights[static_cast<size_t>(i) * ax.ksize];
      const uint8_t* p = row + 3 * ax.first[i];
      int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
      for (int j = 0, n = ax.count[i]; j < n; ++j, p += 3) {
        s0 += p[0] * k[j];
        s1 += p[1] * k[j];
        s2 += p[2] * k[j];
      }
      out[3 * i + 0] = clip8(s0);
      out[3 * i + 1] = clip8(s1);
      out[3 * i + 2] = clip8(s2);
    }
  }

  // Vertical pass over the temporary.
  const size_t tmp_stride = static_cast<size_t>(win_w) * 3;
  std::vector<int32_t> acc(tmp_stride);
  for (int r = 0; r < win_h; ++r) {
    const int32_t* k = &ay.weights[static_cast<size_t>(r) * ay.ksize];
    std::fill(acc.begin(), acc.end(), kHalf);
    for (int j = 0, n = ay.count[r]; j < n; ++j) {
      const uint8_t* row = &tmp[static_cast<size_t>(ay.first[r] - row_lo + j) * tmp_stride];
      const int32_t kj = k[j];
      for (size_t c = 0; c < tmp_stride; ++c) acc[c] += row[c] * kj;
    }
    uint8_t* out = dst + static_cast<size_t>(r) * tmp_stride;
    for (size_t c = 0; c < tmp_stride; ++c) out[c] = clip8(acc[c]);
  }
}

void pil_resize_bicubic(const RgbView& src, int out_w, int out_h, uint8_t* dst) {
  const float box[4] = {0.0f, 0.0f, static_cast<float>(src.width), static_cast<float>(src.height)};
  pil_resize_bicubic(src, box, out_w, out_h, 0, 0, out_w, out_h, dst);
}

}  // namespace kd
