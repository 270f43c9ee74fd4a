// The renderer's plan (internal to renderer.h): from what an image's header says, a view, a resize mode and the
// output size R, every decision the renderer makes, as a value: DCT scale, the region to decode, and the PIL bicubic
// resize + crop that turns the decoded pixels into CLIP's [3, R, R] input. render_planned then executes it.
//
// kExact reproduces torchvision 0.8+ on PIL images bit for bit (before the float normalisation); always full size.
//   View 0 (the centre crop): resized short side = R, long side = int(R * long / short) (truncation; torchvision's
//   _compute_resized_output_size), PIL bicubic with antialiasing (pil_resize.h), crop_top =
//   int(round((resized_h - R) / 2.0)), crop_left likewise (half to even); only the cropped window is computed.
//   Any other view follows torchvision's resized_crop(img, top, left, h, w, size): the box rounded to integer pixels
//   (x, y, w, h each to the nearest integer, clamped inside the image), cropped (the filter sees nothing outside
//   it), resized to R x R.
// kFast: JPEGs the direct libjpeg path decodes are decoded at DCT scale M/8, the smallest M keeping the short side
//   of what is rendered (the image for view 0, else the box) >= R (jpeg_decode.h); other files at 8/8. View 0 keeps
//   the full-size image's geometry (clip_geometry; the resize's box is the whole image in scaled pixels, so the crop
//   lands where kExact's does); any other view resizes the box's edges times M/8 (float) of the whole scaled image to
//   R x R (the taps at its edges may read a few scaled pixels beyond it). Not PIL's pixels (docs/benchmarks.md has
//   the deviation); teacher and student get the same ones because both render through this plan.
// Both modes: value = ((float)v / 255 - mean[c]) / std[c] in float32 (ToTensor + Normalize), then the flip mirrors
// the R x R result left-right (RandomHorizontalFlip after RandomResizedCrop).
#pragma once

#include <cstdint>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/pil_resize.h"
#include "common/image/detail/pixel_rect.h"
#include "common/image/renderer.h"

namespace kd {

// Where the resize + center crop lands for a width x height source.
struct ClipGeometry {
  int resized_width = 0, resized_height = 0;  // pixels, after the short-side resize
  int crop_left = 0, crop_top = 0;            // pixels, in the resized image
};
ClipGeometry clip_geometry(int width, int height, int resolution);

// Python's round(x / 2.0) for an integer x (half to even), as torchvision's center_crop uses.
int round_half_to_even_div2(int x);

// ToTensor + Normalize: rgb [res_h, res_w, 3] uint8 -> out_chw [3, res_h, res_w] float32.
void normalize_clip(const uint8_t* rgb_hwc, int width, int height, float* out_chw);

// What the planner needs to know about the source before any pixel is decoded.
struct SourceHeader {
  int width = 0, height = 0;  // pixels, full size
  bool dct_scalable = false;  // a JPEG the direct libjpeg path decodes (DCT scaling M/8 available)
};

struct RenderPlan {
  ViewParams view;        // the view rendered (as resolved for this image; what kd-extract records)
  int resolution = 0;     // R
  int scale_eighths = 8;  // decode at DCT scale M/8 (8: full size)
  int width = 0, height = 0;  // pixels: the whole image at that scale (libjpeg's ceil(size * M / 8))
  PixelRect region;       // pixels at that scale: what the resize reads, so what must be decoded
  // The resize: PIL's bicubic of `box` (pixels of `source`) of the image `source` (a rectangle of the scaled image,
  // seen as an image of its own) to resized_width x resized_height, of which the R x R window at (crop_left,
  // crop_top) is computed.
  PixelRect source;
  float box[4] = {0, 0, 0, 0};
  int resized_width = 0, resized_height = 0;
  int crop_left = 0, crop_top = 0;
};

// The one planning function. Throws kd::Error for a view that is not finite or a resolution outside 1..16384.
RenderPlan plan_render(const SourceHeader& header, const ViewParams& view, ResizeMode mode, int resolution);

// Executes a plan on the decoded pixels: `decoded` is a view of the scaled image (plan.width x plan.height) that
// holds at least plan.region, else kd::Error. out_chw: [3, R, R] float32, caller-owned.
void render_planned(const RenderPlan& plan, const RgbView& decoded, float* out_chw);

// A decoded image (full size, not DCT-scaled) rendered as the plan for an image that cannot be DCT-scaled: what the
// renderer does for files libvips decodes. out_chw: [3, R, R] float32, caller-owned.
void render_image(const RgbImage& image, const ViewParams& view, ResizeMode mode, int resolution, float* out_chw);

// kExact for an image decoded in its PIL mode (files libvips decodes), as OpenAI's transform does it: the plan's
// resize in the image's own mode (pil_mode_resize.h: NEAREST for 1 / P, premultiplied for LA / RGBA, 32-bit for
// I / F), then convert("RGB") of the R x R crop (pil_convert.h), normalised, flipped. Throws kd::Error for a mode
// Pillow cannot resize (pil_mode_resizable). out_chw: [3, R, R] float32, caller-owned.
void render_pil_exact(const PilImage& image, const ViewParams& view, int resolution, float* out_chw);

}  // namespace kd
