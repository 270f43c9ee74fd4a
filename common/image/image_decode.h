// Decodes any image libvips reads into 8-bit RGB exactly as PIL's Image.open(path).convert("RGB") would,
// so that the CLIP preprocessing downstream sees the same pixels OpenAI's PIL-based pipeline saw.
// Ordinary JPEGs (grayscale, YCbCr, RGB) are decoded directly with libjpeg (jpeg_decode.h), the same library and
// settings libvips and PIL use, so the pixels are identical (tested on every coco-mini JPEG); everything else, and
// every JPEG that path refuses (CMYK, truncated, corrupt, over max_pixels), goes through libvips.
//
// Conversions (all checked against Pillow 9.4 in tests/image_preprocess_test.cpp):
//   grayscale (L)          -> value replicated into R, G, B
//   gray + alpha (LA)      -> alpha dropped, gray replicated
//   RGBA                   -> alpha dropped, no compositing (PIL's rgba2rgb)
//   palette PNG / GIF      -> palette colours (libvips expands the palette); GIF: first frame only
//   CMYK (JPEG, TIFF)      -> PIL's cmyk2rgb: nk = 255 - K; R = nk - muldiv255(C, nk), same for G/B, where
//                             muldiv255(a, b) = ((t >> 8) + t) >> 8 with t = a*b + 128. Adobe-inverted CMYK JPEGs are
//                             un-inverted by the loader (libvips and PIL both do this), so the formula sees true CMYK.
//   16-bit RGB / RGBA / LA -> high byte (v >> 8), as PIL's "RGB;16B" / "RGBA;16B" / "LA;16B" unpackers do
//   16-bit grayscale       -> PIL opens it as mode "I" (32-bit int) and convert("RGB") CLIPS to 0..255, so every value
//                             >= 255 becomes 255 (yes, really; we match it)
//   float / other formats  -> cast to 8-bit with clipping to 0..255 (PIL's "F" -> "RGB" also clips)
// Not matched: transparent pixels of a GIF come out as (0,0,0) from libnsgif, while PIL gives the palette colour at
// the transparency index; LAB / other exotic TIFF interpretations are taken as their raw band values.
// No EXIF rotation (PIL does not rotate by default) and no colour management (embedded ICC profiles, including the
// malformed ones in some COCO JPEGs, are ignored, as PIL ignores them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kd {

// An 8-bit RGB image, row-major, interleaved.
struct RgbImage {
  int width = 0;               // pixels
  int height = 0;              // pixels
  std::vector<uint8_t> rgb;    // [H, W, 3] uint8
};

struct DecodeOptions {
  // Reject images whose header says width * height > max_pixels, before any pixel is decoded. 0 = no limit.
  uint64_t max_pixels = 0;
  // JPEG shrink-on-load factor (1, 2, 4 or 8): the DCT decodes at 1/shrink size, much faster. 1 = exact decode.
  // Ignored for formats without shrink-on-load. Only the fast preprocessing mode uses it.
  int jpeg_shrink = 1;
  // Fast preprocessing mode only; 0 = off. When > 0 it overrides jpeg_shrink: JPEGs on the direct libjpeg path are
  // decoded at the smallest DCT scale M/8 (M = 1..8) whose short side stays >= jpeg_min_short_side
  // (jpeg_scale_eighths_for); JPEGs that fall back to libvips get the largest shrink of 8, 4, 2 whose
  // min(width, height) / shrink >= jpeg_min_short_side (integer division), else 1.
  int jpeg_min_short_side = 0;
  // false: always decode with libvips (to compare the two paths; the pixels are the same either way).
  bool jpeg_direct = true;
};

// Width and height from the header only (no pixels decoded). Throws kd::Error naming the file if it cannot be read.
struct ImageHeader {
  int width = 0, height = 0;   // pixels
  bool is_jpeg = false;
};
ImageHeader read_image_header(const std::string& path);

// Decodes a file. Throws kd::Error naming the file and giving libvips's reason (truncated, empty, not an image,
// too many pixels).
RgbImage decode_image(const std::string& path, const DecodeOptions& options = {});

// Decodes an encoded image held in memory; `name` is used in error messages only.
RgbImage decode_image_buffer(const void* data, size_t size, const std::string& name,
                             const DecodeOptions& options = {});

// Makes sure libvips is initialised (once per process; thread-safe). Every function here calls it. It also routes
// libvips's warnings through kd (common/util/library_warnings.h): counted per kind, not printed per image.
void ensure_vips_initialized();

}  // namespace kd
