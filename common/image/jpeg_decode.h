// Direct libjpeg(-turbo) decoding of ordinary JPEGs to 8-bit RGB: the fast path decode_image takes for JPEG files,
// giving the pixels libvips's jpegload (and PIL) give, without libvips's per-image pipeline overhead.
//
// Handled: 1-component (grayscale, replicated into R, G, B by libjpeg) and 3-component (YCbCr or RGB) JPEGs,
// baseline or progressive, always decoded with libjpeg's defaults (JDCT_ISLOW, fancy upsampling).
// (JDCT_IFAST + no fancy upsampling was tried for the fast mode: with DCT scaling M/8, M < 8, libjpeg-turbo gave
// bit-identical pixels with and without it on all 79 coco-mini val2017 images, so there was nothing to gain.)
// Not handled (the caller falls back to libvips, so semantics and error messages stay exactly as before):
// CMYK / YCCK / Adobe 4-component files, any other colour space, headers over max_pixels, any libjpeg error, and
// truncated data (libjpeg's "Premature end of JPEG file", which libvips with fail_on=truncated and PIL refuse).
// Other libjpeg warnings (e.g. "extraneous bytes before marker") are ignored, as libvips and PIL ignore them.
//
// What is decoded: by default the whole image. With JpegDirectOptions::region, only a block around the rectangle the
// caller will read (clip_preprocess_file asks for what its centre crop's resize reads): rows above it are skipped
// (jpeg_skip_scanlines: entropy decoding only), rows below it are never decoded (when the data ends with an EOI
// marker; see decode_jpeg_direct), columns outside it are cropped (jpeg_crop_scanline: no IDCT, upsampling or colour
// conversion for them). The block keeps a margin of one iMCU beyond the rectangle on the left, right and top, so
// every pixel inside the rectangle is bit-identical to the full decode's (tested on every coco-mini JPEG and on
// synthetic 4:2:0 / 4:2:2 / 4:4:4 / grayscale / restart-marker files, tests/jpeg_region_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/image/image_decode.h"
#include "common/image/pixel_rect.h"

namespace kd {

// What a successful decode was: the source size from the header, the DCT scale applied, the size of the whole
// decoded image and where the decoded block (*out) sits in it.
struct JpegDecodeInfo {
  int source_width = 0, source_height = 0;  // pixels, full size
  int scale_num = 1, scale_denom = 1;       // out size ~ source size * scale_num / scale_denom
  int width = 0, height = 0;                // pixels: the whole image as decoded (scaled, floor_size applied)
  PixelRect block;                          // pixels of width x height: what *out holds (*out is its size)
};

struct JpegDirectOptions {
  // Reject (return false) when the header says width * height > max_pixels. 0 = no limit.
  uint64_t max_pixels = 0;
  // DCT scaling: decode at scale_num / scale_denom (libjpeg-turbo supports M/8, M = 1..16). 1/1 = full size.
  // Output size is ceil(width * scale_num / scale_denom) x ceil(height * scale_num / scale_denom) (libjpeg's rule),
  // or the floor with floor_size.
  int scale_num = 1, scale_denom = 1;
  // When > 0, overrides scale_num/scale_denom: the smallest M/8 (M = 1..8) whose output short side is still
  // >= min_short_side (8/8 if none is).
  int min_short_side = 0;
  // When set, overrides all of the above: called once the header is read, with the full-size width and height;
  // returns M (1..8) for the DCT scale M/8 (values outside 1..8 are clamped).
  std::function<int(int width, int height)> scale_eighths;
  // libjpeg's scaled output is ceil(size * num / denom); libvips 8.14's shrink-on-load crops it to
  // max(1, floor(size * num / denom)) (the partial last row and column dropped). true: crop the same way.
  bool floor_size = false;
  // Empty (the default): decode the whole image. Otherwise called once the header is read and the scale chosen,
  // with the source size, scale and output size (width, height) filled in; it returns the rectangle, in output
  // pixels, whose pixels the caller needs. *out then holds a block containing that rectangle (clipped to the image),
  // bit-identical to the full decode inside it; JpegDecodeInfo::block says where. An empty rectangle = whole image.
  std::function<PixelRect(const JpegDecodeInfo&)> region;
};

// True when the bytes start with a JPEG SOI marker (FF D8 FF).
bool looks_like_jpeg(const void* data, size_t size);

// Reads the whole file into *bytes when it starts like a JPEG; false when it does not or cannot be read (the caller
// then hands the path to libvips, which reports why if it cannot read it either). Other files cost a 3-byte read.
bool read_jpeg_file(const std::string& path, std::string* bytes);

// Decodes `data` into *out (and *info when given). Returns false (out unspecified) for everything listed under
// "Not handled" above; never throws for bad input (std::bad_alloc, and whatever options.scale_eighths or
// options.region throw, propagate).
bool decode_jpeg_direct(const void* data, size_t size, const JpegDirectOptions& options, RgbImage* out,
                        JpegDecodeInfo* info = nullptr);

// read_jpeg_file + decode_jpeg_direct: false when the file is not a JPEG, cannot be read, or the direct path refuses
// it (the caller then decodes with libvips, which reports why if it cannot read it either).
bool decode_jpeg_file(const std::string& path, const JpegDirectOptions& options, RgbImage* out,
                      JpegDecodeInfo* info = nullptr);

// The M of the smallest M/8 scale whose libjpeg output short side, min(ceil(w * M / 8), ceil(h * M / 8)), is still
// >= min_short_side; 8 when none is smaller.
int jpeg_scale_eighths_for(int width, int height, int min_short_side);

}  // namespace kd
