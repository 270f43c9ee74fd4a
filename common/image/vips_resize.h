// The fast (approximate) resize: libvips vips_resize with the cubic kernel, used by ResizeMode::kFast.
#pragma once

#include <cstdint>

#include "common/image/image_decode.h"

namespace kd {

// Crops the integer box (x, y, w, h) of `image` (pixels), resizes it to out_w x out_h with vips_resize
// (kernel cubic), and writes the window [win_x, win_x + win_w) x [win_y, win_y + win_h) of the result into
// dst [win_h, win_w, 3] uint8.
void vips_resize_crop(const RgbImage& image, int x, int y, int w, int h, int out_w, int out_h, int win_x, int win_y,
                      int win_w, int win_h, uint8_t* dst);

}  // namespace kd
