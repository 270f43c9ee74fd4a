// Pillow's bicubic resampling (Image.resize(..., BICUBIC, box=...)) reproduced bit-exactly for 8-bit RGB, so kd's
// pixels equal those of OpenAI's PIL-based CLIP preprocessing.
//
// The math (Pillow 9.x, libImaging/Resample.c): separable; the horizontal pass runs first into an 8-bit temporary
// holding only the source rows the vertical pass needs, then the vertical pass. Per axis, for output sample i:
//   scale = (double)(in1 - in0) / out_size          (in0, in1: the box edges, float32 as in Pillow)
//   filterscale = max(scale, 1); support = 2 * filterscale   (bicubic a = -0.5, widened when shrinking: antialias)
//   center = in0 + (i + 0.5) * scale; first = max(0, (int)(center - support + 0.5));
//   last = min(in_size, (int)(center + support + 0.5)); w_j = cubic((j - center + 0.5) / filterscale), normalised to
//   sum 1, then fixed point with PRECISION_BITS = 22, rounded half away from zero;
//   out = clamp((sum_j v_j * w_j + 2^21) >> 22, 0, 255)    (int32 accumulation; the temporary is clamped too).
#pragma once

#include <cstdint>
#include <vector>

#include "common/image/detail/pixel_rect.h"

namespace kd {

constexpr int kPilPrecisionBits = 32 - 8 - 2;  // 22

// The weights of one axis for output samples [out_begin, out_begin + out_count) of an out_size-sample resize.
struct ResampleAxis {
  int ksize = 0;                 // weights per output sample (stride of `weights`)
  std::vector<int> first;        // [out_count] first source index used
  std::vector<int> count;        // [out_count] number of source samples used (<= ksize)
  std::vector<int32_t> weights;  // [out_count, ksize] fixed point, kPilPrecisionBits
};

// Pillow's bicubic coefficients for one axis. in0/in1 are the box edges in source samples (float32 like Pillow).
ResampleAxis pil_bicubic_axis(int in_size, float in0, float in1, int out_size, int out_begin, int out_count);

// The same coefficients before the fixed-point step: what Pillow's 32-bit (int "I", float "F") resampler uses.
struct ResampleAxisReal {
  int ksize = 0;                // weights per output sample (stride of `weights`)
  std::vector<int> first;       // [out_count] first source index used
  std::vector<int> count;       // [out_count] number of source samples used (<= ksize)
  std::vector<double> weights;  // [out_count, ksize] normalised to sum 1 (where the sum is not 0)
};
ResampleAxisReal pil_bicubic_axis_real(int in_size, float in0, float in1, int out_size, int out_begin,
                                       int out_count);

// The source samples [lo, hi) that output samples [out_begin, out_begin + out_count) of pil_bicubic_axis read
// (the union of their [first, first + count)); lo = hi = 0 when they read none.
void pil_bicubic_span(int in_size, float in0, float in1, int out_size, int out_begin, int out_count, int* lo,
                      int* hi);

// A view of 8-bit interleaved RGB pixels: the block [x0, x0 + width) x [y0, y0 + height) of a logical image of
// full_width x full_height pixels, e.g. a partly decoded JPEG (jpeg_decode.h's region). Pixel (x, y), in logical
// image coordinates, starts at data + (y - y0) * stride + 3 * (x - x0). Defaults: the view is the whole image
// (x0 = y0 = 0; full_width / full_height 0 mean x0 + width / y0 + height).
struct RgbView {
  const uint8_t* data = nullptr;
  int width = 0, height = 0;  // pixels held
  int stride = 0;             // bytes per row
  int x0 = 0, y0 = 0;         // pixels: where the held block sits in the logical image
  int full_width = 0, full_height = 0;  // pixels: the logical image; 0 = x0 + width, y0 + height
  int logical_width() const { return full_width > 0 ? full_width : x0 + width; }
  int logical_height() const { return full_height > 0 ? full_height : y0 + height; }
};

// PIL's img.resize((out_w, out_h), BICUBIC, box=(box[0], box[1], box[2], box[3])) restricted to the output window
// [win_x, win_x + win_w) x [win_y, win_y + win_h); only that window is computed. dst: [win_h, win_w, 3] uint8.
// The window equals what cropping the full resize would give, bit for bit. The geometry (box, out_w, out_h, window)
// is in the logical image's coordinates (src.logical_width() x src.logical_height()); the view need only hold
// pil_resize_source_rect's rectangle, else kd::Error is thrown.
void pil_resize_bicubic(const RgbView& src, const float box[4], int out_w, int out_h, int win_x, int win_y,
                        int win_w, int win_h, uint8_t* dst);

// The source pixels pil_resize_bicubic(src, box, out_w, out_h, win_x, win_y, win_w, win_h, ...) reads from a
// logical in_w x in_h image: what a partial decode must deliver, bit-identical, for the same output.
PixelRect pil_resize_source_rect(int in_w, int in_h, const float box[4], int out_w, int out_h, int win_x, int win_y,
                                 int win_w, int win_h);

// Whole-image convenience: PIL's img.resize((out_w, out_h), BICUBIC). dst: [out_h, out_w, 3] uint8.
void pil_resize_bicubic(const RgbView& src, int out_w, int out_h, uint8_t* dst);

}  // namespace kd
