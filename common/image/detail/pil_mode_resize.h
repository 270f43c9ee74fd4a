// Pillow 9.4's Image.resize(size, BICUBIC, box), as OpenAI's transform calls it, in the image's own PIL mode
// (Image.py's resize, _imaging.c's _resize, libImaging/Resample.c and Geometry.c), restricted to an output window:
//   same size and whole box (or an integer box of the output's size)  -> a copy (crop): no resampling at all, so
//                          LA / RGBA skip the premultiplied round trip too
//   1, P                -> NEAREST whatever filter is asked for: output pixel x reads source pixel (int)(xo_x),
//                          xo_0 = box0 + a / 2, xo_{x+1} = xo_x + a (a = (double)(box2 - box0) / out_w, a double
//                          sum carried along the row, as ImagingScaleAffine does); likewise for rows
//   L, RGB, RGBX, CMYK  -> the 8-bit bicubic of pil_resize.h on every sample (each sample is resampled on its own)
//   PA                  -> the same on the palette index and the alpha (Pillow does not premultiply PA, and it
//                          does interpolate the indices); needs the indices (detail/image_decode.h). The result
//                          carries Pillow's default palette, the grey ramp (ImagingResample's new image does not
//                          inherit the palette), so convert("RGB") gives (index, index, index)
//   LA, RGBA            -> premultiplied (La, RGBa; detail/pil_convert.h), 8-bit bicubic, un-premultiplied
//   I, F                -> 32-bit bicubic: the weights in double (pil_bicubic_axis_real, no fixed point), horizontal
//                          pass then vertical; I rounds each pass's double sum half away from zero to int32, F
//                          stores it as float32
//   I;16                -> Pillow raises ("image has wrong mode"), so OpenAI's transform cannot read the file
//   PA without indices  -> kd cannot know them (a colour of the image has several palette entries)
// The last two throw kd::Error (pil_image_resizable says which images resize).
#pragma once

#include "common/image/detail/image_decode.h"
#include "common/image/detail/pixel_rect.h"

#include <string>

namespace kd {

// False for the images kd cannot resize as Pillow does (I;16, PA without indices); `why` then says why.
bool pil_image_resizable(const PilImage& image, std::string* why);

// img.crop(source).resize((out_w, out_h), BICUBIC, box) restricted to the output window [win_x, win_x + win_w) x
// [win_y, win_y + win_h), in the image's mode. `source` is a rectangle of `image` (pixels), `box` is in source's
// own pixels (float32, as Pillow). Returns the window: win_w x win_h pixels, same mode and channels.
PilImage pil_resize_mode(const PilImage& image, const PixelRect& source, const float box[4], int out_w, int out_h,
                         int win_x, int win_y, int win_w, int win_h);

}  // namespace kd
