// Direct libjpeg(-turbo) decoding of ordinary JPEGs to 8-bit RGB: the fast path decode_image takes for JPEG files,
// giving the pixels libvips's jpegload (and PIL) give, without libvips's per-image pipeline overhead.
//
// Handled: 1-component (grayscale, replicated into R, G, B by libjpeg) and 3-component (YCbCr or RGB) JPEGs,
// baseline or progressive, always decoded with libjpeg's defaults (JDCT_ISLOW, fancy upsampling).
// Not handled (the caller falls back to libvips, so semantics and error messages stay exactly as before):
// CMYK / YCCK / Adobe 4-component files, any other colour space, headers over max_pixels, any libjpeg error, and
// truncated data (libjpeg's "Premature end of JPEG file", which libvips with fail_on=truncated and PIL refuse).
// Other libjpeg warnings (e.g. "extraneous bytes before marker") are ignored, as libvips and PIL ignore them.
//
// What is decoded: by default the whole image. With JpegDirectOptions::region, only a block around that rectangle
// (the renderer asks for what its resize reads, render_plan.h): rows above it are skipped (jpeg_skip_scanlines: entropy
// decoding only), rows below it are never decoded (when the data ends with an EOI marker; see decode_jpeg_direct),
// columns outside it are cropped (jpeg_crop_scanline: no IDCT, upsampling or colour conversion for them). The block
// keeps a margin of one iMCU beyond the rectangle on the left, right and top, so every pixel inside the rectangle is
// bit-identical to the full decode's (tested on every coco-mini JPEG and on synthetic 4:2:0 / 4:2:2 / 4:4:4 /
// grayscale / restart-marker files, tests/jpeg_region_test.cpp). Internal to the renderer (renderer.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/pixel_rect.h"

namespace kd {

// What the header says (nothing decoded yet).
struct JpegHeader {
  int width = 0, height = 0;  // pixels, full size
};

// What a successful decode was: the source size from the header, the DCT scale applied, the size of the whole
// decoded image and where the decoded block (*out) sits in it.
struct JpegDecodeInfo {
  int source_width = 0, source_height = 0;  // pixels, full size
  int scale_eighths = 8;                    // DCT scale M/8
  int width = 0, height = 0;                // pixels: the whole image as decoded, jpeg_scaled_size of the source
  PixelRect block;                          // pixels of width x height: what *out holds (*out is its size)
};

struct JpegDirectOptions {
  // Reject (return false) when the header says width * height > max_pixels. 0 = no limit.
  uint64_t max_pixels = 0;
  // DCT scaling: decode at M/8, M = 1..8 (8 = full size); the output is jpeg_scaled_size(width, height, M).
  int scale_eighths = 8;
  // Empty (the default): the whole image. Otherwise the rectangle, in output pixels, whose pixels the caller needs:
  // *out then holds a block containing it (clipped to the image), bit-identical to the full decode inside it;
  // JpegDecodeInfo::block says where.
  PixelRect region;
};

// True when the bytes start with a JPEG SOI marker (FF D8 FF).
bool looks_like_jpeg(const void* data, size_t size);

// Reads the whole file into *bytes when it starts like a JPEG; false when it does not or cannot be read (the caller
// then hands the path to libvips, which reports why if it cannot read it either). Other files cost a 3-byte read.
bool read_jpeg_file(const std::string& path, std::string* bytes);

// Reads the header only: false for everything decode_jpeg_direct would refuse from the header (not a JPEG, a colour
// space listed under "Not handled", over max_pixels, a libjpeg error in the header).
bool read_jpeg_header(const void* data, size_t size, uint64_t max_pixels, JpegHeader* out);

// Decodes `data` into *out (and *info when given). Returns false (out unspecified) for everything listed under
// "Not handled" above; never throws for bad input (std::bad_alloc propagates).
bool decode_jpeg_direct(const void* data, size_t size, const JpegDirectOptions& options, RgbImage* out,
                        JpegDecodeInfo* info = nullptr);

// libjpeg's output size at DCT scale M/8: ceil(size * M / 8) per axis. Returns {width, height}.
struct ScaledSize {
  int width = 0, height = 0;  // pixels
};
ScaledSize jpeg_scaled_size(int width, int height, int scale_eighths);

// The M of the smallest M/8 scale whose libjpeg output short side, min(ceil(w * M / 8), ceil(h * M / 8)), is still
// >= min_short_side; 8 when none is smaller.
int jpeg_scale_eighths_for(int width, int height, int min_short_side);

}  // namespace kd
