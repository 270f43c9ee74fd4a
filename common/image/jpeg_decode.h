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
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/image/image_decode.h"

namespace kd {

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
  // libjpeg's scaled output is ceil(size * num / denom); libvips 8.14's shrink-on-load crops it to
  // max(1, floor(size * num / denom)) (the partial last row and column dropped). true: crop the same way.
  bool floor_size = false;
};

// True when the bytes start with a JPEG SOI marker (FF D8 FF).
bool looks_like_jpeg(const void* data, size_t size);

// Reads the whole file into *bytes when it starts like a JPEG; false when it does not or cannot be read (the caller
// then hands the path to libvips, which reports why if it cannot read it either). Other files cost a 3-byte read.
bool read_jpeg_file(const std::string& path, std::string* bytes);

// What a successful decode was: the source size from the header and the DCT scale applied.
struct JpegDecodeInfo {
  int source_width = 0, source_height = 0;  // pixels, full size
  int scale_num = 1, scale_denom = 1;       // out size ~ source size * scale_num / scale_denom
};

// Decodes `data` into *out (and *info when given). Returns false (out unspecified) for everything listed under
// "Not handled" above; never throws for bad input (std::bad_alloc may still propagate).
bool decode_jpeg_direct(const void* data, size_t size, const JpegDirectOptions& options, RgbImage* out,
                        JpegDecodeInfo* info = nullptr);

// The M of the smallest M/8 scale whose libjpeg output short side, min(ceil(w * M / 8), ceil(h * M / 8)), is still
// >= min_short_side; 8 when none is smaller.
int jpeg_scale_eighths_for(int width, int height, int min_short_side);

}  // namespace kd
