// Pillow's resize in the image's own mode: NEAREST for 1 / P, premultiplied bicubic for LA / RGBA, 32-bit bicubic
// for I / F, 8-bit bicubic otherwise (see detail/pil_mode_resize.h).
#include "common/image/detail/pil_mode_resize.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/image/detail/pil_convert.h"
#include "common/image/detail/pil_resize.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

bool wide_mode(PilMode m) { return m == PilMode::kI || m == PilMode::kI16 || m == PilMode::kF; }

PilImage empty_like(const PilImage& image, int width, int height) {
  PilImage out;
  out.mode = image.mode;
  out.width = width;
  out.height = height;
  out.channels = image.channels;
  out.palette = image.palette;
  const size_t n = static_cast<size_t>(width) * height;
  if (image.mode == PilMode::kF)
    out.f32.assign(n, 0.0f);
  else if (wide_mode(image.mode))
    out.i32.assign(n, 0);
  else
    out.u8.assign(n * image.channels, 0);
  return out;
}

// Copies pixel (sx, sy) of `image` to pixel (dx, dy) of `out`.
inline void copy_pixel(const PilImage& image, int sx, int sy, PilImage* out, int dx, int dy) {
  const size_t s = static_cast<size_t>(sy) * image.width + sx, d = static_cast<size_t>(dy) * out->width + dx;
  if (image.mode == PilMode::kF) {
    out->f32[d] = image.f32[s];
  } else if (wide_mode(image.mode)) {
    out->i32[d] = image.i32[s];
  } else {
    const int c = image.channels;
    std::copy_n(&image.u8[s * c], c, &out->u8[d * c]);
  }
}

// Geometry.c's COORD: -1 for negative positions, else truncation.
inline int coord(double v) { return v < 0.0 ? -1 : static_cast<int>(v); }

// ImagingScaleAffine's positions along one axis for outputs [0, begin + count): the window's [count] entries,
// -1 where the source has no pixel (Pillow then leaves the output 0).
std::vector<int> nearest_positions(float in0, float in1, int out_size, int in_size, int begin, int count) {
  const double a = static_cast<double>(in1 - in0) / out_size;
  double o = static_cast<double>(in0) + a * 0.5;
  std::vector<int> pos(count, -1);
  for (int x = 0; x < begin + count; ++x, o += a) {
    const int p = coord(o);
    if (x >= begin && p >= 0 && p < in_size) pos[x - begin] = p;
  }
  return pos;
}

PilImage resize_nearest(const PilImage& image, const PixelRect& s, const float box[4], int out_w, int out_h,
                        int win_x, int win_y, int win_w, int win_h) {
  const std::vector<int> xs = nearest_positions(box[0], box[2], out_w, s.width(), win_x, win_w);
  const std::vector<int> ys = nearest_positions(box[1], box[3], out_h, s.height(), win_y, win_h);
  PilImage out = empty_like(image, win_w, win_h);
  for (int y = 0; y < win_h; ++y)
    for (int x = 0; x < win_w; ++x)
      if (ys[y] >= 0 && xs[x] >= 0) copy_pixel(image, s.x0 + xs[x], s.y0 + ys[y], &out, x, y);
  return out;
}

// The 8-bit bicubic of `channels` interleaved samples (an sw x sh image at px, rows `row_pixels` pixels apart),
// through pil_resize_bicubic's three-sample kernel: samples are resampled independently, so they go three at a time
// (a short last group is padded with zeros). Returns [win_h, win_w, channels].
std::vector<uint8_t> bicubic_u8(const uint8_t* px, int sw, int sh, int row_pixels, int channels, const float box[4],
                                int out_w, int out_h, int win_x, int win_y, int win_w, int win_h) {
  const size_t n_in = static_cast<size_t>(sw) * sh, n_out = static_cast<size_t>(win_w) * win_h;
  std::vector<uint8_t> out(n_out * channels);
  if (channels == 3) {  // RGB as it is (no copy)
    pil_resize_bicubic(RgbView{px, sw, sh, row_pixels * 3}, box, out_w, out_h, win_x, win_y, win_w, win_h,
                       out.data());
    return out;
  }
  std::vector<uint8_t> in3(n_in * 3), out3(n_out * 3);
  for (int c0 = 0; c0 < channels; c0 += 3) {
    const int k = std::min(3, channels - c0);
    std::fill(in3.begin(), in3.end(), uint8_t{0});
    for (int y = 0; y < sh; ++y) {
      const uint8_t* row = px + static_cast<size_t>(y) * row_pixels * channels;
      uint8_t* dst = &in3[static_cast<size_t>(y) * sw * 3];
      for (int x = 0; x < sw; ++x)
        for (int j = 0; j < k; ++j) dst[3 * x + j] = row[channels * x + c0 + j];
    }
    pil_resize_bicubic(RgbView{in3.data(), sw, sh, sw * 3}, box, out_w, out_h, win_x, win_y, win_w, win_h,
                       out3.data());
    for (size_t i = 0; i < n_out; ++i)
      for (int j = 0; j < k; ++j) out[channels * i + c0 + j] = out3[3 * i + j];
  }
  return out;
}

// Resample.c's ROUND_UP.
inline int32_t round_up(double f) { return static_cast<int32_t>(f >= 0.0 ? f + 0.5f : f - 0.5f); }

// The 32-bit bicubic of one band ([sh, sw] at in) to the window ([win_h, win_w]): T is int32_t (mode I) or float
// (mode F); each pass sums in double and stores T.
template <typename T>
std::vector<T> bicubic_32(const T* in, int sw, int sh, const float box[4], int out_w, int out_h, int win_x,
                          int win_y, int win_w, int win_h) {
  const ResampleAxisReal ax = pil_bicubic_axis_real(sw, box[0], box[2], out_w, win_x, win_w);
  const ResampleAxisReal ay = pil_bicubic_axis_real(sh, box[1], box[3], out_h, win_y, win_h);
  const auto store = [](double v) {
    if constexpr (std::is_same_v<T, float>) {
      return static_cast<float>(v);
    } else {
      return round_up(v);
    }
  };
  int row_lo = sh, row_hi = 0;
  for (int y = 0; y < win_h; ++y)
    if (ay.count[y] > 0) {
      row_lo = std::min(row_lo, ay.first[y]);
      row_hi = std::max(row_hi, ay.first[y] + ay.count[y]);
    }
  std::vector<T> out(static_cast<size_t>(win_w) * win_h, T{0});
  if (row_hi <= row_lo) return out;
  std::vector<T> tmp(static_cast<size_t>(row_hi - row_lo) * win_w);  // [rows read, win_w]: horizontal pass
  for (int r = row_lo; r < row_hi; ++r) {
    const T* row = in + static_cast<size_t>(r) * sw;
    for (int x = 0; x < win_w; ++x) {
      const double* k = &ax.weights[static_cast<size_t>(x) * ax.ksize];
      double ss = 0.0;
      for (int j = 0; j < ax.count[x]; ++j) ss += row[ax.first[x] + j] * k[j];
      tmp[static_cast<size_t>(r - row_lo) * win_w + x] = store(ss);
    }
  }
  for (int y = 0; y < win_h; ++y) {
    const double* k = &ay.weights[static_cast<size_t>(y) * ay.ksize];
    for (int x = 0; x < win_w; ++x) {
      double ss = 0.0;
      for (int j = 0; j < ay.count[y]; ++j) ss += tmp[static_cast<size_t>(ay.first[y] + j - row_lo) * win_w + x] * k[j];
      out[static_cast<size_t>(y) * win_w + x] = store(ss);
    }
  }
  return out;
}

// The source rectangle's samples, contiguous: [sh, sw, per_pixel] of T.
template <typename T>
std::vector<T> source_samples(const std::vector<T>& all, int width, int per_pixel, const PixelRect& s) {
  std::vector<T> out(static_cast<size_t>(s.width()) * s.height() * per_pixel);
  for (int y = 0; y < s.height(); ++y)
    std::copy_n(&all[(static_cast<size_t>(s.y0 + y) * width + s.x0) * per_pixel],
                static_cast<size_t>(s.width()) * per_pixel, &out[static_cast<size_t>(y) * s.width() * per_pixel]);
  return out;
}

}  // namespace

bool pil_image_resizable(const PilImage& image, std::string* why) {
  if (image.mode == PilMode::kI16) {
    *why = "PIL mode I;16 (16-bit grey TIFF): Pillow 9.4 cannot resize it with BICUBIC (\"image has wrong mode\"), "
           "so OpenAI's transform fails on this file";
    return false;
  }
  if (image.mode == PilMode::kPA && image.palette.empty()) {
    *why = "PIL mode PA (palette + alpha TIFF): Pillow 9.4 resizes the palette indices with BICUBIC, and a colour "
           "of this image has several palette entries (or none), so kd cannot know its index";
    return false;
  }
  return true;
}

PilImage pil_resize_mode(const PilImage& image, const PixelRect& s, const float box[4], int out_w, int out_h,
                         int win_x, int win_y, int win_w, int win_h) {
  std::string why;
  if (!pil_image_resizable(image, &why)) throw Error("cannot render this image as OpenAI's transform does").got(why);
  if (s.empty() || s.x0 < 0 || s.y0 < 0 || s.x1 > image.width || s.y1 > image.height || win_w <= 0 || win_h <= 0 ||
      win_x < 0 || win_y < 0 || win_x + win_w > out_w || win_y + win_h > out_h)
    throw InternalError(Error("invalid resize of a PIL image")
                            .got(std::to_string(image.width) + "x" + std::to_string(image.height) + " image, " +
                                 std::to_string(out_w) + "x" + std::to_string(out_h) + " output"));
  const int sw = s.width(), sh = s.height();
  // Image.resize returns a copy when nothing changes; _resize crops for an integer box of the output's size (for LA
  // and RGBA after Image.resize has premultiplied, so the round trip still applies).
  const bool whole = box[0] == 0.0f && box[1] == 0.0f && box[2] == static_cast<float>(sw) &&
                     box[3] == static_cast<float>(sh) && out_w == sw && out_h == sh;
  const bool integer_box = box[0] == std::floor(box[0]) && box[1] == std::floor(box[1]) &&
                           box[2] - box[0] == static_cast<float>(out_w) && box[3] - box[1] == static_cast<float>(out_h);
  const bool premultiplied = image.mode == PilMode::kLA || image.mode == PilMode::kRGBA;
  if (whole || integer_box) {
    PilImage out = empty_like(image, win_w, win_h);
    for (int y = 0; y < win_h; ++y)
      for (int x = 0; x < win_w; ++x)
        copy_pixel(image, s.x0 + static_cast<int>(box[0]) + win_x + x, s.y0 + static_cast<int>(box[1]) + win_y + y,
                   &out, x, y);
    if (premultiplied && !whole) {
      pil_premultiply(out.u8.data(), static_cast<size_t>(win_w) * win_h, out.channels);
      pil_unpremultiply(out.u8.data(), static_cast<size_t>(win_w) * win_h, out.channels);
    }
    return out;
  }
  if (image.mode == PilMode::k1 || image.mode == PilMode::kP)
    return resize_nearest(image, s, box, out_w, out_h, win_x, win_y, win_w, win_h);
  PilImage out = empty_like(image, win_w, win_h);
  if (image.mode == PilMode::kF) {
    out.f32 = bicubic_32(source_samples(image.f32, image.width, 1, s).data(), sw, sh, box, out_w, out_h, win_x,
                         win_y, win_w, win_h);
    return out;
  }
  if (wide_mode(image.mode)) {
    out.i32 = bicubic_32(source_samples(image.i32, image.width, 1, s).data(), sw, sh, box, out_w, out_h, win_x,
                         win_y, win_w, win_h);
    return out;
  }
  const int c = image.channels;
  const uint8_t* first = &image.u8[(static_cast<size_t>(s.y0) * image.width + s.x0) * c];
  if (premultiplied) {
    std::vector<uint8_t> px = source_samples(image.u8, image.width, c, s);  // [sh, sw, c]
    pil_premultiply(px.data(), static_cast<size_t>(sw) * sh, c);
    out.u8 = bicubic_u8(px.data(), sw, sh, sw, c, box, out_w, out_h, win_x, win_y, win_w, win_h);
  } else {
    out.u8 = bicubic_u8(first, sw, sh, image.width, c, box, out_w, out_h, win_x, win_y, win_w, win_h);
  }
  if (premultiplied) pil_unpremultiply(out.u8.data(), static_cast<size_t>(win_w) * win_h, c);
  if (image.mode == PilMode::kPA) {  // ImagingResample's new image has the default palette: the grey ramp
    out.palette.resize(3 * 256);
    for (int i = 0; i < 3 * 256; ++i) out.palette[i] = static_cast<uint8_t>(i / 3);
  }
  return out;
}

}  // namespace kd
