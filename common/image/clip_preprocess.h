// CLIP's image transform (OpenAI clip.load's preprocess): Resize(res, BICUBIC) on the short side, CenterCrop(res),
// ToTensor (/255), Normalize(mean, std) -> float [3, res, res], written into a buffer the caller owns.
//
// kExact reproduces torchvision 0.8+ on PIL images bit for bit (before the float normalisation):
//   resized short side = res, long side = int(res * long / short) (truncation; torchvision's
//   _compute_resized_output_size), PIL bicubic with antialiasing (pil_resize.h);
//   crop_top = int(round((resized_h - res) / 2.0)), crop_left likewise, Python's round (half to even);
//   value = ((float)v / 255 - mean[c]) / std[c] in float32, as ToTensor + Normalize do.
//   Only the cropped window of the resize is computed.
// kFast: libvips. From a file, JPEGs are shrunk on load (DCT scaling by 2, 4 or 8 while the short side stays >= res),
//   then vips_resize (kernel cubic) to the exact resized size, then the same crop and normalisation.
//   Measured deviation from kExact over the 79 coco-mini val2017 images at 224 px (tests/image_preprocess_test.cpp,
//   ImagePreprocessMeasure.DISABLED_FastModeDeviation; 0..255 units = normalised * std * 255, bound uses max std):
//     clip_preprocess_file (JPEG shrink-on-load by 2 + vips_resize): max |diff| 2.12 normalised (<= 149/255),
//                                                                    mean |diff| 0.0191 normalised (~1.3/255)
//     clip_preprocess(RgbImage) (vips_resize only, no shrink):       max |diff| 0.165 normalised (<= 11.6/255),
//                                                                    mean |diff| 0.0039 normalised (~0.26/255)
//   The large maxima are probably at sharp edges (not verified pixel by pixel): shrink-on-load rounds odd sizes up (427 -> 214), shifting the grid by up to
//   half a source pixel. Use kExact wherever the pixels must match a teacher run with PIL.
#pragma once

#include <cstdint>
#include <string>

#include "common/image/image_decode.h"

namespace kd {

enum class ResizeMode { kExact, kFast };

// OpenAI CLIP normalisation constants (RGB).
constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};
constexpr int kClipResolution = 224;

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

// The CLIP transform of a decoded image. out_chw: [3, resolution, resolution] float32, caller-owned.
void clip_preprocess(const RgbImage& image, int resolution, ResizeMode mode, float* out_chw);

// Decode + transform. In kFast mode JPEGs are shrunk on load; in kExact mode this equals
// clip_preprocess(decode_image(path, options), ...). options.jpeg_shrink is chosen here and ignored.
void clip_preprocess_file(const std::string& path, int resolution, ResizeMode mode, float* out_chw,
                          const DecodeOptions& options = {});

// The JPEG shrink-on-load factor the fast mode uses: the largest of 8, 4, 2 keeping min(width, height) / shrink
// >= resolution, else 1.
int fast_jpeg_shrink(int width, int height, int resolution);

}  // namespace kd
