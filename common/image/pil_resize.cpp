// Pillow-exact bicubic resampling of 8-bit RGB (see pil_resize.h for the math).
#include "common/image/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

void check_axis(int in_size, int out_size, int out_begin, int out_count) {
  if (in_size <= 0 || out_size <= 0 || out_begin < 0 || out_count < 0 || out_begin + out_count > out_size)
    throw Error("invalid resampling axis").got("in " + std::to_string(in_size) + ", out " + std::to_string(out_size) +
                                               ", window " + std::to_string(out_begin) + "+" +
                                               std::to_string(out_count));
}

// Pillow's scale and support for one axis.
struct AxisScale {
  double scale, filterscale, support;
};
AxisScale axis_scale(float in0, float in1, int out_size) {
  const double scale = static_cast<double>(in1 - in0) / out_size;  // float subtraction, as Pillow
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  return AxisScale{scale, filterscale, 2.0 * filterscale};
}

// Output sample i's source samples [*lo, *hi) (possibly empty: *hi <= *lo), Pillow's rule.
inline void taps(const AxisScale& a, int in_size, float in0, int i, double* center, int* lo, int* hi) {
  *center = in0 + (i + 0.5) * a.scale;
  *lo = static_cast<int>(*center - a.support + 0.5);
  if (*lo < 0) *lo = 0;
  *hi = static_cast<int>(*center + a.support + 0.5);
  if (*hi > in_size) *hi = in_size;
}

}  // namespace

void pil_bicubic_span(int in_size, float in0, float in1, int out_size, int out_begin, int out_count, int* lo,
                      int* hi) {
  check_axis(in_size, out_size, out_begin, out_count);
  const AxisScale a = axis_scale(in0, in1, out_size);
  *lo = in_size;
  *hi = 0;
  for (int i = out_begin; i < out_begin + out_count; ++i) {
    double center;
    int l, h;
    taps(a, in_size, in0, i, &center, &l, &h);
    if (h > l) {
      *lo = std::min(*lo, l);
      *hi = std::max(*hi, h);
    }
  }
  if (*hi <= *lo) *lo = *hi = 0;
}

PixelRect pil_resize_source_rect(int in_w, int in_h, const float box[4], int out_w, int out_h, int win_x, int win_y,
                                 int win_w, int win_h) {
  PixelRect r;
  pil_bicubic_span(in_w, box[0], box[2], out_w, win_x, win_w, &r.x0, &r.x1);
  pil_bicubic_span(in_h, box[1], box[3], out_h, win_y, win_h, &r.y0, &r.y1);
  return r;
}

ResampleAxis pil_bicubic_axis(int in_size, float in0, float in1, int out_size, int out_begin, int out_count) {
  check_axis(in_size, out_size, out_begin, out_count);
  const AxisScale a = axis_scale(in0, in1, out_size);
  const double support = a.support;
  const double inv = 1.0 / a.filterscale;
  ResampleAxis axis;
  axis.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_count);
  axis.count.resize(out_count);
  axis.weights.assign(static_cast<size_t>(out_count) * axis.ksize, 0);
  std::vector<double> w(axis.ksize);
  for (int i = 0; i < out_count; ++i) {
    double center;
    int lo, hi;
    taps(a, in_size, in0, out_begin + i, &center, &lo, &hi);
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

// The two passes below are written so the compiler vectorises them: every inner loop runs over contiguous lanes with
// one weight. The arithmetic is Pillow's integer arithmetic, so any summation order gives identical bytes. Built for
// the baseline ISA and, where the CPU has it, AVX2 (int32 multiplies 8 lanes at a time); chosen at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define KD_RESIZE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KD_RESIZE_CLONES
#endif

namespace {

constexpr int32_t kHalf = 1 << (kPilPrecisionBits - 1);

// Source rows handled together by the horizontal pass: they become the contiguous lanes of its inner loop.
constexpr int kRowBlock = 32;
constexpr int kLanes = kRowBlock * 3;  // (row in block, channel)

// Horizontal pass for rows [r0, r0 + nrows) of `rows` (nrows <= kRowBlock; rows[b] holds columns from row_x0 on),
// columns transposed first:
// cols[x - col_lo][b * 3 + c] = source pixel (col x, row r0 + b), channel c; lanes of rows past nrows are
// zeroed first and only ever feed lanes that are not written out.
// cols: [col_hi - col_lo, kLanes] + 1 spare byte. out: row b of the block at out + b * out_stride, [win_w, 3].
KD_RESIZE_CLONES void horizontal_block(const uint8_t* const* rows, int nrows, int col_lo, int col_hi,
                                       int row_x0, const ResampleAxis& ax, int win_w, uint8_t* cols, uint8_t* out,
                                       size_t out_stride) {
  const int ncols = col_hi - col_lo;
  if (nrows < kRowBlock) std::fill(cols, cols + static_cast<size_t>(ncols) * kLanes, uint8_t{0});
  // Pixels are copied 4 bytes at a time (the 4th byte lands in the next lane and is overwritten, or in an unused
  // lane); the last column copies 3 so nothing past the source row is read. `cols` holds one spare byte at its end.
  for (int x = col_lo; x < col_hi; ++x) {
    uint8_t* q = cols + static_cast<size_t>(x - col_lo) * kLanes;
    if (x + 1 < col_hi) {
      for (int b = 0; b < nrows; ++b) std::memcpy(q + 3 * b, rows[b] + 3 * (x - row_x0), 4);
    } else {
      for (int b = 0; b < nrows; ++b) std::memcpy(q + 3 * b, rows[b] + 3 * (x - row_x0), 3);
    }
  }
  int32_t acc[kLanes];
  for (int i = 0; i < win_w; ++i) {
    const int32_t* k = &ax.weights[static_cast<size_t>(i) * ax.ksize];
    const uint8_t* c0 = cols + static_cast<size_t>(ax.first[i] - col_lo) * kLanes;
    for (int l = 0; l < kLanes; ++l) acc[l] = kHalf;
    for (int j = 0, n = ax.count[i]; j < n; ++j) {
      const uint8_t* c = c0 + static_cast<size_t>(j) * kLanes;
      const int32_t kj = k[j];
      for (int l = 0; l < kLanes; ++l) acc[l] += c[l] * kj;
    }
    uint8_t px[kLanes];
    for (int l = 0; l < kLanes; ++l) px[l] = clip8(acc[l]);
    for (int b = 0; b < nrows; ++b) {
      uint8_t* o = out + b * out_stride + 3 * static_cast<size_t>(i);
      o[0] = px[3 * b + 0];
      o[1] = px[3 * b + 1];
      o[2] = px[3 * b + 2];
    }
  }
}

// Vertical pass: out row r = sum over taps of whole temporary rows, accumulated in acc [width3] int32.
KD_RESIZE_CLONES void vertical_pass(const uint8_t* tmp, size_t width3, int row_lo, const ResampleAxis& ay, int win_h,
                                    int32_t* acc, uint8_t* dst) {
  for (int r = 0; r < win_h; ++r) {
    const int32_t* k = &ay.weights[static_cast<size_t>(r) * ay.ksize];
    for (size_t c = 0; c < width3; ++c) acc[c] = kHalf;
    for (int j = 0, n = ay.count[r]; j < n; ++j) {
      const uint8_t* row = tmp + static_cast<size_t>(ay.first[r] - row_lo + j) * width3;
      const int32_t kj = k[j];
      for (size_t c = 0; c < width3; ++c) acc[c] += row[c] * kj;
    }
    uint8_t* out = dst + static_cast<size_t>(r) * width3;
    for (size_t c = 0; c < width3; ++c) out[c] = clip8(acc[c]);
  }
}

}  // namespace

void pil_resize_bicubic(const RgbView& src, const float box[4], int out_w, int out_h, int win_x, int win_y,
                        int win_w, int win_h, uint8_t* dst) {
  if (src.width <= 0 || src.height <= 0 || win_w <= 0 || win_h <= 0) return;
  const int in_w = src.logical_width(), in_h = src.logical_height();
  const ResampleAxis ax = pil_bicubic_axis(in_w, box[0], box[2], out_w, win_x, win_w);
  const ResampleAxis ay = pil_bicubic_axis(in_h, box[1], box[3], out_h, win_y, win_h);

  // Source rows the vertical pass reads, source columns the horizontal pass reads.
  int row_lo = in_h, row_hi = 0;
  for (int i = 0; i < win_h; ++i) {
    if (ay.count[i] == 0) continue;  // reads nothing (as pil_bicubic_span counts it)
    row_lo = std::min(row_lo, ay.first[i]);
    row_hi = std::max(row_hi, ay.first[i] + ay.count[i]);
  }
  if (row_hi <= row_lo) row_lo = row_hi = 0;
  int col_lo = in_w, col_hi = 0;
  for (int i = 0; i < win_w; ++i) {
    if (ax.count[i] == 0) continue;
    col_lo = std::min(col_lo, ax.first[i]);
    col_hi = std::max(col_hi, ax.first[i] + ax.count[i]);
  }
  if (col_hi <= col_lo) col_lo = col_hi = 0;
  if ((row_hi > row_lo && (row_lo < src.y0 || row_hi > src.y0 + src.height)) ||
      (col_hi > col_lo && (col_lo < src.x0 || col_hi > src.x0 + src.width)))
    throw Error("resize reads pixels outside the source view")
        .expected("columns " + std::to_string(col_lo) + ".." + std::to_string(col_hi) + ", rows " +
                  std::to_string(row_lo) + ".." + std::to_string(row_hi) + " held")
        .got("columns " + std::to_string(src.x0) + ".." + std::to_string(src.x0 + src.width) + ", rows " +
             std::to_string(src.y0) + ".." + std::to_string(src.y0 + src.height));

  // Horizontal pass: [row_hi - row_lo, win_w, 3] uint8, clamped like Pillow's 8-bit temporary image.
  const int tmp_rows = row_hi - row_lo;
  const size_t width3 = static_cast<size_t>(win_w) * 3;
  std::vector<uint8_t> tmp(static_cast<size_t>(tmp_rows) * width3);
  std::vector<uint8_t> cols(static_cast<size_t>(col_hi - col_lo) * kLanes + 1);  // + 1: see horizontal_block
  for (int r0 = 0; r0 < tmp_rows; r0 += kRowBlock) {
    const int nrows = std::min(kRowBlock, tmp_rows - r0);
    const uint8_t* rows[kRowBlock];
    for (int b = 0; b < nrows; ++b) rows[b] = src.data + static_cast<size_t>(row_lo + r0 + b - src.y0) * src.stride;
    horizontal_block(rows, nrows, col_lo, col_hi, src.x0, ax, win_w, cols.data(), &tmp[static_cast<size_t>(r0) * width3],
                     width3);
  }

  // Vertical pass over the temporary.
  std::vector<int32_t> acc(width3);
  vertical_pass(tmp.data(), width3, row_lo, ay, win_h, acc.data(), dst);
}

void pil_resize_bicubic(const RgbView& src, int out_w, int out_h, uint8_t* dst) {
  const float box[4] = {0.0f, 0.0f, static_cast<float>(src.logical_width()), static_cast<float>(src.logical_height())};
  pil_resize_bicubic(src, box, out_w, out_h, 0, 0, out_w, out_h, dst);
}

}  // namespace kd
