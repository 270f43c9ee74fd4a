// Decodes any image libvips reads the way PIL's Image.open(path) holds it: in its PIL mode (detail/pil_mode.h),
// the samples OpenAI's transform resizes (PilImage); and, for callers that want RGB at once, as
// Image.open(path).convert("RGB") (RgbImage; the conversions are detail/pil_convert.h's). The renderer
// (renderer.h) is the only user outside tests. Ordinary JPEGs (grayscale, YCbCr, RGB) are decoded to RGB directly
// with libjpeg (jpeg_decode.h), the same library and settings libvips and PIL use, so the pixels are identical
// (tested on every coco-mini JPEG); everything else, and every JPEG that path refuses (CMYK, truncated, corrupt,
// over max_pixels), goes through libvips.
//
// The samples per mode (what libvips gives, brought to what Pillow 9.4 holds; tests/image_preprocess_test.cpp,
// tests/pil_modes_test.cpp):
//   1, L                   one 8-bit sample ("1" holds 0 / 255, as Pillow does)
//   LA                     grey, alpha; 16-bit files: high byte (PIL's "LA;16B")
//   P                      the palette colour (libvips expands the palette; Pillow's convert("RGB") looks it up,
//                          and P is only ever resized NEAREST, so the colour stands for the index); GIF: first
//                          frame only, and its transparent pixels come out (0,0,0) from libnsgif, not the palette
//                          colour Pillow gives them
//   PA (palette TIFF + alpha) index and alpha, with the TIFF's palette: libvips gives colours, and each is mapped
//                          back to its palette index; when a colour in the image has several indices (or none)
//                          the index cannot be known and the image holds colour and alpha instead, palette empty
//   RGB, RGBX, RGBA        8-bit samples; 16-bit files: high byte (PIL's "RGB;16B", "RGBA;16B"); an alpha band
//                          libvips adds for a tRNS chunk (modes L, RGB, P) is dropped: Pillow keeps the mode
//   CMYK (JPEG, TIFF)      the ink values; CMYK JPEGs are un-inverted by the loader, with or without an Adobe
//                          marker (libvips 8.14 and PIL, which always assumes Adobe's convention, both do this)
//   I (16-bit grey PNG, 32-bit int TIFF), I;16 (16-bit grey TIFF): int32 values; F (float TIFF): float32 values
// Not matched: LAB / other exotic TIFF interpretations are taken as their raw band values; a TIFF with associated
// alpha (ExtraSamples 1: Pillow un-premultiplies it on load) keeps libvips's values.
// No EXIF rotation (PIL does not rotate by default) and no colour management (embedded ICC profiles, including the
// malformed ones in some COCO JPEGs, are ignored, as PIL ignores them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/image/detail/pil_mode.h"
#include "common/image/vips_init.h"

namespace kd {

// An 8-bit RGB image, row-major, interleaved.
struct RgbImage {
  int width = 0;               // pixels
  int height = 0;              // pixels
  std::vector<uint8_t> rgb;    // [H, W, 3] uint8
};

// An image as Pillow holds it after Image.open: its mode and samples, row-major, interleaved.
struct PilImage {
  PilMode mode = PilMode::kRGB;
  int width = 0;               // pixels
  int height = 0;              // pixels
  int channels = 0;            // samples per pixel: 1 ("1", L, I, I;16, F), 2 (LA, PA), 3 (P, RGB), 4 (RGBX, RGBA,
                               // CMYK; PA whose indices are unknown)
  std::vector<uint8_t> u8;     // [H, W, channels] uint8: every mode but I, I;16 and F
  std::vector<int32_t> i32;    // [H, W] int32: I, I;16
  std::vector<float> f32;      // [H, W] float32: F
  std::vector<uint8_t> palette;  // PA: [entries, 3] uint8, the colours of the indices in u8; else empty
};

struct DecodeOptions {
  // Reject images whose header says width * height > max_pixels, before any pixel is decoded. 0 = no limit.
  uint64_t max_pixels = 0;
  // false: always decode with libvips (to compare the two paths; the pixels are the same either way).
  bool jpeg_direct = true;
};

// Decodes a file. Throws kd::Error naming the file and giving libvips's reason (truncated, empty, not an image,
// too many pixels).
RgbImage decode_image(const std::string& path, const DecodeOptions& options = {});

// Decodes a file with libvips into its PIL mode (never the direct libjpeg path). Throws like decode_image.
PilImage decode_pil_image(const std::string& path, const DecodeOptions& options = {});

}  // namespace kd
