// CLIP's image transform (OpenAI clip.load's preprocess): Resize(res, BICUBIC) on the short side, CenterCrop(res),
// ToTensor (/255), Normalize(mean, std) -> float [3, res, res], written into a buffer the caller owns.
//
// kExact reproduces torchvision 0.8+ on PIL images bit for bit (before the float normalisation):
//   resized short side = res, long side = int(res * long / short) (truncation; torchvision's
//   _compute_resized_output_size), PIL bicubic with antialiasing (pil_resize.h);
//   crop_top = int(round((resized_h - res) / 2.0)), crop_left likewise, Python's round (half to even);
//   value = ((float)v / 255 - mean[c]) / std[c] in float32, as ToTensor + Normalize do.
//   Only the cropped window of the resize is computed.
// What is decoded, from a file (clip_preprocess_file, both modes): for JPEGs on the direct libjpeg path only the block
//   the centre crop's resize reads (pil_resize_source_rect), plus a one-iMCU margin (jpeg_decode.h's region): e.g.
//   kExact, 640x480 4:2:0 at 224 px: the resize reads columns [76, 564), columns [48, 580) are decoded, all rows;
//   480x640: rows [76, 564) read, rows above 60 skipped (entropy-decoded only), rows from 564 on never decoded.
//   The resize then runs on that block in the whole image's coordinates (RgbView's origin), so the output equals
//   the full decode's bit for bit (tests/jpeg_region_test.cpp). Measured: about 75% of the pixels of the 159
//   coco-mini JPEGs are decoded in kExact; entropy decoding (not skippable) keeps the saving to ~5-15% of the time.
// kFast, from a file (clip_preprocess_file; render_view_file for any view, which kd-extract and kd-train run): ordinary
//   JPEGs are decoded by libjpeg with DCT scaling M/8, the smallest M keeping the decoded short side >= res
//   (jpeg_decode.h: 640x480 -> 4/8 = 320x240, 640x427 -> 5/8 = 400x267), then resized with PIL's bicubic
//   (pil_resize.h) using the full-size image's geometry (the box is the source extent in scaled pixels, so the crop
//   lands where kExact's does), then the same crop and normalisation (clip_preprocess_fast_jpeg, below).
//   Other formats and JPEGs the direct path refuses (CMYK, bad files): libvips shrink-on-load (2, 4 or 8 while the
//   short side stays >= res) and vips_resize (kernel cubic), as clip_preprocess(kFast) does.
// kFast, from a decoded image (clip_preprocess, render_view): vips_resize (kernel cubic) of the full image.
//   Measured deviation from kExact over the 79 coco-mini val2017 images at 224 px (tests/image_preprocess_test.cpp,
//   ImagePreprocessMeasure.DISABLED_FastModeDeviation; 0..255 units = normalised * std * 255, bound uses max std):
//     clip_preprocess_file (DCT scaling M/8 + PIL bicubic):     max |diff| 1.05 normalised (<= 74/255),
//                                                               mean |diff| 0.0259 normalised (~1.75/255)
//     clip_preprocess(RgbImage) (vips_resize only, no scaling): max |diff| 0.165 normalised (<= 11.6/255),
//                                                               mean |diff| 0.0039 normalised (~0.26/255)
//   (Before the direct JPEG path, clip_preprocess_file's fast mode was shrink-on-load by 1 or 2 + vips_resize: max
//   2.12, mean 0.0191 normalised. The mean is higher now because more images are DCT-scaled, and by more (5/8 for
//   640x427, which had no shrink before); the max is probably lower because the geometry no longer shifts with
//   rounded scaled sizes (not verified pixel by pixel).) Restricting M to 1, 2, 4, 8 (decoding 640x427 at full size)
//   measured mean 0.0143, max 0.98 normalised, but about 8% fewer images/s: libjpeg-turbo's 5/8 IDCT has no SIMD
//   and costs about what a full 8/8 decode costs; the saving is in the smaller resize.
//   Use kExact wherever the pixels must match a teacher run with PIL.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/image/image_decode.h"
#include "common/image/jpeg_decode.h"
#include "common/image/pil_resize.h"
#include "common/image/pixel_rect.h"
#include "common/util/enum_names.h"

namespace kd {

enum class ResizeMode { kExact, kFast };
inline const std::vector<EnumSpelling<ResizeMode>>& enum_spellings(ResizeMode) {  // --resize, cache attributes
  static const std::vector<EnumSpelling<ResizeMode>> kNames = {{ResizeMode::kExact, {"exact"}},
                                                              {ResizeMode::kFast, {"fast"}}};
  return kNames;
}

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

// kExact's transform of pixels held in a view (pil_resize.h's RgbView: a whole image, or the decoded block of one),
// computed in the logical image's geometry: for a view of a whole image, what clip_preprocess(kExact) gives.
// The view must hold clip_exact_source_rect(logical width, logical height, resolution), else kd::Error.
void clip_preprocess_exact(const RgbView& src, int resolution, float* out_chw);

// The pixels decode_jpeg_direct returned for a region (block, with info), as a view in the whole image's coordinates.
RgbView decoded_block_view(const RgbImage& block, const JpegDecodeInfo& info);

// The source pixels kExact reads from a width x height image (the resize's taps under the centre crop): what a
// partial decode must hold for clip_preprocess_exact.
PixelRect clip_exact_source_rect(int width, int height, int resolution);

// Decode + transform. In kFast mode JPEGs are DCT-scaled on decode (see above); in kExact mode this equals
// clip_preprocess(decode_image(path, options), ...) (JPEGs are only decoded where the crop reads, see above).
// options.jpeg_shrink and jpeg_min_short_side are chosen here and ignored; options.max_pixels and jpeg_direct apply.
void clip_preprocess_file(const std::string& path, int resolution, ResizeMode mode, float* out_chw,
                          const DecodeOptions& options = {});

// A source box in full-size pixels, chosen from the image's full-size width and height (called once, before any
// pixel is decoded). An empty PixelRect stands for CLIP's centre crop.
using SourceBoxForSize = std::function<PixelRect(int width, int height)>;

// kFast from a JPEG file on the direct libjpeg path (what clip_preprocess_file(kFast) and render_view_file(kFast) run
// for JPEGs): the smallest DCT scale M/8 keeping the short side of what is rendered (the image for the centre crop,
// else the box) >= resolution, only the pixels the resize reads decoded (jpeg_decode.h's region), then PIL's bicubic
// at that scale and the normalisation. The centre crop keeps the full-size image's geometry (clip_geometry; the
// resize's box is the whole image in scaled pixels); a box is the box's edges times M/8 (float), resized to
// resolution x resolution (the bicubic taps at its edges may read a few scaled pixels beyond it).
// Returns false with out_chw untouched when the file is not a JPEG the direct path decodes (other formats, CMYK,
// truncated or bad data, over max_pixels): the caller falls back to libvips. Throws kd::Error naming the file when
// box_for_size returns a box outside the image. out_chw: [3, resolution, resolution] float32, caller-owned.
bool clip_preprocess_fast_jpeg(const std::string& path, const SourceBoxForSize& box_for_size, int resolution,
                               float* out_chw, uint64_t max_pixels = 0);

// libvips's JPEG shrink-on-load factor for a short-side target (the fast mode's rule on the libvips fallback): the
// largest of 8, 4, 2 keeping min(width, height) / shrink >= resolution, else 1.
int fast_jpeg_shrink(int width, int height, int resolution);

}  // namespace kd
