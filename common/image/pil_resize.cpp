// Pillow-exact bicubic resampling of 8-bit RGB (see pil_resize.h for the math).
#include "common/image/detail/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/util/error.h"
#include "common/util/error_kinds.h"

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

ResampleAxisReal pil_bicubic_axis_real(int in_size, float in0, float in1, int out_size, int out_begin,
                                       int out_count) {
  check_axis(in_size, out_size, out_begin, out_count);
  const AxisScale a = axis_scale(in0, in1, out_size);
  const double inv = 1.0 / a.filterscale;
  ResampleAxisReal axis;
  axis.ksize = static_cast<int>(std::ceil(a.support)) * 2 + 1;
  axis.first.resize(out_count);
  axis.count.resize(out_count);
  axis.weights.assign(static_cast<size_t>(out_count) * axis.ksize, 0.0);
  for (int i = 0; i < out_count; ++i) {
    double center;
    int lo, hi;
    taps(a, in_size, in0, out_begin + i, &center, &lo, &hi);
    const int n = std::max(0, hi - lo);
    double* w = &axis.weights[static_cast<size_t>(i) * axis.ksize];
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      w[j] = cubic((j + lo - center + 0.5) * inv);
      total += w[j];
    }
    if (total != 0.0)
      for (int j = 0; j < n; ++j) w[j] /= total;
    axis.first[i] = lo;
    axis.count[i] = n;
  }
  return axis;
}

ResampleAxis pil_bicubic_axis(int in_size, float in0, float in1, int out_size, int out_begin, int out_count) {
  const ResampleAxisReal real = pil_bicubic_axis_real(in_size, in0, in1, out_size, out_begin, out_count);
  ResampleAxis axis;
  axis.ksize = real.ksize;
  axis.first = real.first;
  axis.count = real.count;
  axis.weights.resize(real.weights.size());
  for (size_t j = 0; j < real.weights.size(); ++j) {  // fixed point, rounded half away from zero
    const double v = real.weights[j], f = v * (1 << kPilPrecisionBits);
    axis.weights[j] = static_cast<int32_t>(v < 0 ? f - 0.5 : f + 0.5);
  }
  return axis;
}

// The passes below reduce to one kernel, weighted_lanes: Pillow's integer sum over taps for many contiguous lanes
// at once. The arithmetic is exact integer arithmetic, so every summation order and every split below gives
// Pillow's bytes. Two versions, chosen per call from the CPU:
//   portable: int32 loops the compiler vectorises for the baseline ISA;
//   AVX2 (x86-64 with GCC or Clang): pmaddwd, 16-bit pixel pairs times 16-bit weight pairs. Pillow's weights are
//     wider than 16 bits (22 fraction bits), so each weight k is split as k = kh * 2^15 + kl, kl in [0, 2^15), and
//     sum(v * k) = (sum(v * kh) << 15) + sum(v * kl): both partial sums and the result fit int32 (|sum(v * k)| <
//     255 * sum|k| < 2^31), so the total is exact. About twice the int32-multiply loops' speed here.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KD_PIL_RESIZE_AVX2 1
#include <immintrin.h>
#else
#define KD_PIL_RESIZE_AVX2 0
#endif

namespace {

constexpr int32_t kHalf = 1 << (kPilPrecisionBits - 1);

// Source rows handled together by the horizontal pass: they become the contiguous lanes of its inner loop.
constexpr int kRowBlock = 32;
constexpr int kLanes = kRowBlock * 3;  // (row in block, channel)

// px[l] = clip8(kHalf + sum_{j < n} taps[j * stride + l] * k[j]) for l in [0, lanes). acc: [lanes] int32 scratch.
void weighted_lanes_portable(const uint8_t* taps, size_t stride, const int32_t* k, int n, size_t lanes,
                             int32_t* acc, uint8_t* px) {
  for (size_t l = 0; l < lanes; ++l) acc[l] = kHalf;
  for (int j = 0; j < n; ++j) {
    const uint8_t* t = taps + static_cast<size_t>(j) * stride;
    const int32_t kj = k[j];
    for (size_t l = 0; l < lanes; ++l) acc[l] += t[l] * kj;
  }
  for (size_t l = 0; l < lanes; ++l) px[l] = clip8(acc[l]);
}

#if KD_PIL_RESIZE_AVX2
constexpr int kWeightSplit = 15;  // k = kh * 2^15 + kl (see the note above)

// Two taps' weight halves as the 16-bit pairs pmaddwd multiplies (k1 = 0 for a lone last tap).
__attribute__((target("avx2"))) inline void split_weight_pair(int32_t k0, int32_t k1, __m256i* high, __m256i* low) {
  constexpr int32_t kLowMask = (1 << kWeightSplit) - 1;
  const auto pair = [](int32_t a, int32_t b) {
    return static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint16_t>(b)) << 16) | static_cast<uint16_t>(a));
  };
  *high = _mm256_set1_epi32(pair(k0 >> kWeightSplit, k1 >> kWeightSplit));  // arithmetic shift: |kh| < 2^15
  *low = _mm256_set1_epi32(pair(k0 & kLowMask, k1 & kLowMask));
}

// weighted_lanes_portable for the first lanes - lanes % 16 lanes (the caller does the rest).
__attribute__((target("avx2"))) void weighted_lanes_avx2(const uint8_t* taps, size_t stride, const int32_t* k, int n,
                                                         size_t lanes, uint8_t* px) {
  for (size_t l = 0; l + 16 <= lanes; l += 16) {
    // Lanes 0-3, 8-11 in *_a and 4-7, 12-15 in *_b (unpack works within 128-bit halves; the packs below undo it).
    __m256i high_a = _mm256_setzero_si256(), high_b = _mm256_setzero_si256();
    __m256i low_a = _mm256_set1_epi32(kHalf), low_b = _mm256_set1_epi32(kHalf);
    for (int j = 0; j < n; j += 2) {
      const auto* t0 = reinterpret_cast<const __m128i*>(taps + static_cast<size_t>(j) * stride + l);
      const __m256i v0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(t0));  // [16] int16
      __m256i v1 = _mm256_setzero_si256();
      if (j + 1 < n) v1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
                               taps + static_cast<size_t>(j + 1) * stride + l)));
      const __m256i pairs_a = _mm256_unpacklo_epi16(v0, v1), pairs_b = _mm256_unpackhi_epi16(v0, v1);
      __m256i wh, wl;
      split_weight_pair(k[j], j + 1 < n ? k[j + 1] : 0, &wh, &wl);
      high_a = _mm256_add_epi32(high_a, _mm256_madd_epi16(pairs_a, wh));
      high_b = _mm256_add_epi32(high_b, _mm256_madd_epi16(pairs_b, wh));
      low_a = _mm256_add_epi32(low_a, _mm256_madd_epi16(pairs_a, wl));
      low_b = _mm256_add_epi32(low_b, _mm256_madd_epi16(pairs_b, wl));
    }
    const __m256i sum_a = _mm256_add_epi32(_mm256_slli_epi32(high_a, kWeightSplit), low_a);
    const __m256i sum_b = _mm256_add_epi32(_mm256_slli_epi32(high_b, kWeightSplit), low_b);
    // >> 22, then saturate to int16 and to 0..255 (= clip8): lanes come back in order within each 128-bit half.
    const __m256i words = _mm256_packs_epi32(_mm256_srai_epi32(sum_a, kPilPrecisionBits),
                                             _mm256_srai_epi32(sum_b, kPilPrecisionBits));
    const __m256i bytes = _mm256_packus_epi16(words, words);  // lanes 0-7 | 8-15 in the low 8 bytes of each half
    _mm_storeu_si128(reinterpret_cast<__m128i*>(px + l),
                     _mm256_castsi256_si128(_mm256_permute4x64_epi64(bytes, 0x08)));
  }
}
#endif

void weighted_lanes(const uint8_t* taps, size_t stride, const int32_t* k, int n, size_t lanes, int32_t* acc,
                    uint8_t* px) {
  size_t done = 0;
#if KD_PIL_RESIZE_AVX2
  if (__builtin_cpu_supports("avx2")) {
    weighted_lanes_avx2(taps, stride, k, n, lanes, px);
    done = lanes - lanes % 16;
  }
#endif
  if (done < lanes) weighted_lanes_portable(taps + done, stride, k, n, lanes - done, acc, px + done);
}

// Horizontal pass for rows [r0, r0 + nrows) of `rows` (nrows <= kRowBlock; rows[b] holds columns from row_x0 on),
// columns transposed first:
// cols[x - col_lo][b * 3 + c] = source pixel (col x, row r0 + b), channel c; lanes of rows past nrows are
// zeroed first and only ever feed lanes that are not written out.
// cols: [col_hi - col_lo, kLanes] + 1 spare byte. out: row b of the block at out + b * out_stride, [win_w, 3].
void horizontal_block(const uint8_t* const* rows, int nrows, int col_lo, int col_hi, int row_x0,
                      const ResampleAxis& ax, int win_w, uint8_t* cols, uint8_t* out, size_t out_stride) {
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
    uint8_t px[kLanes];
    weighted_lanes(c0, kLanes, k, ax.count[i], kLanes, acc, px);
    for (int b = 0; b < nrows; ++b) {
      uint8_t* o = out + b * out_stride + 3 * static_cast<size_t>(i);
      o[0] = px[3 * b + 0];
      o[1] = px[3 * b + 1];
      o[2] = px[3 * b + 2];
    }
  }
}

// Vertical pass: out row r = sum over taps of whole temporary rows (acc: [width3] int32 scratch).
void vertical_pass(const uint8_t* tmp, size_t width3, int row_lo, const ResampleAxis& ay, int win_h, int32_t* acc,
                   uint8_t* dst) {
  for (int r = 0; r < win_h; ++r) {
    const int32_t* k = &ay.weights[static_cast<size_t>(r) * ay.ksize];
    weighted_lanes(tmp + static_cast<size_t>(ay.first[r] - row_lo) * width3, width3, k, ay.count[r], width3, acc,
                   dst + static_cast<size_t>(r) * width3);
  }
}

// The source samples [*lo, *hi) an axis reads (lo = hi = 0 when none), as pil_bicubic_span counts them.
void axis_span(const ResampleAxis& axis, int in_size, int* lo, int* hi) {
  *lo = in_size;
  *hi = 0;
  for (size_t i = 0; i < axis.first.size(); ++i) {
    if (axis.count[i] == 0) continue;  // reads nothing
    *lo = std::min(*lo, axis.first[i]);
    *hi = std::max(*hi, axis.first[i] + axis.count[i]);
  }
  if (*hi <= *lo) *lo = *hi = 0;
}

}  // namespace

void pil_resize_bicubic(const RgbView& src, const float box[4], int out_w, int out_h, int win_x, int win_y,
                        int win_w, int win_h, uint8_t* dst) {
  if (src.width <= 0 || src.height <= 0 || win_w <= 0 || win_h <= 0) return;
  const int in_w = src.logical_width(), in_h = src.logical_height();
  const ResampleAxis ax = pil_bicubic_axis(in_w, box[0], box[2], out_w, win_x, win_w);
  const ResampleAxis ay = pil_bicubic_axis(in_h, box[1], box[3], out_h, win_y, win_h);

  // Source rows the vertical pass reads, source columns the horizontal pass reads.
  int row_lo, row_hi, col_lo, col_hi;
  axis_span(ay, in_h, &row_lo, &row_hi);
  axis_span(ax, in_w, &col_lo, &col_hi);
  if ((row_hi > row_lo && (row_lo < src.y0 || row_hi > src.y0 + src.height)) ||
      (col_hi > col_lo && (col_lo < src.x0 || col_hi > src.x0 + src.width)))
    throw InternalError(Error("resize reads pixels outside the source view")
        .expected("columns " + std::to_string(col_lo) + ".." + std::to_string(col_hi) + ", rows " +
                  std::to_string(row_lo) + ".." + std::to_string(row_hi) + " held")
        .got("columns " + std::to_string(src.x0) + ".." + std::to_string(src.x0 + src.width) + ", rows " +
             std::to_string(src.y0) + ".." + std::to_string(src.y0 + src.height)));

  // Horizontal pass: [row_hi - row_lo, win_w, 3] uint8, clamped like Pillow's 8-bit temporary image.
  const int tmp_rows = row_hi - row_lo;
  const size_t width3 = static_cast<size_t>(win_w) * 3;
  std::vector<uint8_t> tmp(static_cast<size_t>(tmp_rows) * width3);
  std::vector<uint8_t> cols(static_cast<size_t>(col_hi - col_lo) * kLanes + 1);  // + 1: see horizontal_block
  for (int r0 = 0; r0 < tmp_rows; r0 += kRowBlock) {
    const int nrows = std::min(kRowBlock, tmp_rows - r0);
    const uint8_t* rows[kRowBlock];
    for (int b = 0; b < nrows; ++b) rows[b] = src.data + static_cast<size_t>(row_lo + r0 + b - src.y0) * src.stride;
    horizontal_block(rows, nrows, col_lo, col_hi, src.x0, ax, win_w, cols.data(),
                     &tmp[static_cast<size_t>(r0) * width3], width3);
  }

  // Vertical pass over the temporary.
  std::vector<int32_t> acc(width3);
  vertical_pass(tmp.data(), width3, row_lo, ay, win_h, acc.data(), dst);
}

void pil_resize_bicubic(const RgbView& src, int out_w, int out_h, uint8_t* dst) {
  const float box[4] = {0.0f, 0.0f, static_cast<float>(src.logical_width()),
                        static_cast<float>(src.logical_height())};
  pil_resize_bicubic(src, box, out_w, out_h, 0, 0, out_w, out_h, dst);
}

}  // namespace kd
