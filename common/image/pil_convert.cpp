// Pillow's convert("RGB") and premultiplied-alpha conversions (see detail/pil_convert.h for the rules).
#include "common/image/detail/pil_convert.h"

#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

// PIL's MULDIV255: a * b / 255 rounded, computed the way Convert.c does it.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

inline uint8_t clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

inline uint8_t f2l(float v) { return v <= 0.0f ? 0 : (v >= 255.0f ? 255 : static_cast<uint8_t>(v)); }

}  // namespace

void pil_convert_rgb(const PilImage& image, uint8_t* rgb) {
  const size_t n = static_cast<size_t>(image.width) * image.height;
  const int c = image.channels;
  const bool wide = image.mode == PilMode::kI || image.mode == PilMode::kI16 || image.mode == PilMode::kF;
  const size_t have = wide ? (image.mode == PilMode::kF ? image.f32.size() : image.i32.size()) : image.u8.size();
  if (have != n * (wide ? 1 : static_cast<size_t>(c)) || (!wide && (c < 1 || c > 4)))
    throw InternalError(Error("PIL image holds the wrong number of samples")
                            .expected(std::to_string(n) + " pixels of mode " + pil_mode_name(image.mode))
                            .got(std::to_string(have) + " samples, " + std::to_string(c) + " per pixel"));
  const uint8_t* p = image.u8.data();
  switch (image.mode) {
    case PilMode::kI:
    case PilMode::kI16:
      for (size_t i = 0; i < n; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = clip8(image.i32[i]);
      return;
    case PilMode::kF:
      for (size_t i = 0; i < n; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = f2l(image.f32[i]);
      return;
    case PilMode::kCMYK:
      for (size_t i = 0; i < n; ++i, p += 4) {
        const int nk = 255 - p[3];
        rgb[3 * i + 0] = clip8(nk - muldiv255(p[0], nk));
        rgb[3 * i + 1] = clip8(nk - muldiv255(p[1], nk));
        rgb[3 * i + 2] = clip8(nk - muldiv255(p[2], nk));
      }
      return;
    case PilMode::kPA:
      if (image.palette.empty()) break;  // colours held: below
      for (size_t i = 0; i < n; ++i) {
        const size_t k = 3 * static_cast<size_t>(p[2 * i]);
        for (int j = 0; j < 3; ++j) rgb[3 * i + j] = k + 2 < image.palette.size() ? image.palette[k + j] : 0;
      }
      return;
    case PilMode::k1:
      for (size_t i = 0; i < n; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = p[c * i] != 0 ? 255 : 0;
      return;
    default:
      break;
  }
  if (c < 3) {  // L, LA (and any grey layout): the grey sample replicated, alpha dropped
    for (size_t i = 0; i < n; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = p[c * i];
  } else {  // P, PA, RGB, RGBX, RGBA: the first three samples
    for (size_t i = 0; i < n; ++i)
      for (int k = 0; k < 3; ++k) rgb[3 * i + k] = p[c * i + k];
  }
}

RgbImage pil_convert_rgb(const PilImage& image) {
  RgbImage out;
  out.width = image.width;
  out.height = image.height;
  out.rgb.resize(static_cast<size_t>(image.width) * image.height * 3);
  pil_convert_rgb(image, out.rgb.data());
  return out;
}

void pil_premultiply(uint8_t* px, size_t n, int channels) {
  for (size_t i = 0; i < n; ++i, px += channels) {
    const int a = px[channels - 1];
    for (int k = 0; k < channels - 1; ++k) px[k] = static_cast<uint8_t>(muldiv255(px[k], a));
  }
}

void pil_unpremultiply(uint8_t* px, size_t n, int channels) {
  for (size_t i = 0; i < n; ++i, px += channels) {
    const int a = px[channels - 1];
    if (a == 0 || a == 255) continue;
    for (int k = 0; k < channels - 1; ++k) px[k] = clip8((255 * px[k]) / a);
  }
}

}  // namespace kd
