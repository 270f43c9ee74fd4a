// Pillow 9.4's mode conversions that OpenAI's transform goes through (libImaging/Convert.c, reproduced bit for bit):
// convert("RGB") from every mode, and the premultiplied-alpha round trip Image.resize makes for LA and RGBA.
//   1 -> RGB        0 / 255 replicated          L -> RGB       replicated
//   LA -> RGB       grey replicated, alpha dropped
//   P -> RGB        the palette colour (held as such, detail/image_decode.h)
//   PA -> RGB       the palette colour of the index (pa2rgb; an index past the palette: (0, 0, 0)), alpha dropped
//   RGB, RGBX, RGBA -> RGB: the first three samples (no compositing)
//   CMYK -> RGB     nk = 255 - K; R = clip8(nk - muldiv255(C, nk)), G and B likewise, where
//                   muldiv255(a, b) = ((t >> 8) + t) >> 8 with t = a * b + 128
//   I, I;16 -> RGB  the value clipped to 0..255, replicated (so a 16-bit grey image turns almost white: Pillow's own
//                   result, kept; docs/image_modes.md)
//   F -> RGB        Pillow has no direct conversion and goes through L: v <= 0 -> 0, v >= 255 -> 255, else
//                   (uint8)v (truncation), replicated
// Premultiplying (RGBA -> RGBa, LA -> La): c' = muldiv255(c, a). Back (RGBa -> RGBA, La -> LA): c = c' when a is 0
// or 255, else clip8(255 * c' / a) (integer division).
#pragma once

#include <cstdint>
#include <vector>

#include "common/image/detail/image_decode.h"

namespace kd {

// PIL's convert("RGB") of every pixel of `image`. rgb: [H, W, 3] uint8, caller-owned.
void pil_convert_rgb(const PilImage& image, uint8_t* rgb);
RgbImage pil_convert_rgb(const PilImage& image);

// Premultiplies (RGBA -> RGBa, LA -> La) or un-premultiplies (back) n pixels in place; the alpha sample is the last
// of `channels` (2 or 4). px: [n, channels] uint8.
void pil_premultiply(uint8_t* px, size_t n, int channels);
void pil_unpremultiply(uint8_t* px, size_t n, int channels);

}  // namespace kd
