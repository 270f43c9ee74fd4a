// Direct libjpeg(-turbo) JPEG decoding (see jpeg_decode.h for what is handled and what falls back to libvips).
#include "common/image/jpeg_decode.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <fstream>

#include <jerror.h>
#include <jpeglib.h>

namespace kd {
namespace {

// libjpeg's error manager, extended with where to jump on a fatal error (error_exit must not return, and the
// default one calls exit()).
struct JumpingErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

[[noreturn]] void jump_out(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<JumpingErrorManager*>(cinfo->err)->jump, 1);
}

// Warnings (msg_level -1) are ignored, except premature end of data: libvips (fail_on=truncated) and PIL refuse
// truncated files, so this path gives up and lets the libvips fallback report it. Trace messages are ignored.
void on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jump_out(cinfo);
}

void no_output(j_common_ptr) {}

int ceil_scaled(int v, int num, int denom) {
  return static_cast<int>((static_cast<int64_t>(v) * num + denom - 1) / denom);
}

}  // namespace

bool looks_like_jpeg(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  return size >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF;
}

bool read_jpeg_file(const std::string& path, std::string* bytes) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  const std::streamoff size = f.tellg();
  if (size < 3) return false;
  char head[3];
  f.seekg(0);
  if (!f.read(head, 3) || !looks_like_jpeg(head, 3)) return false;
  bytes->resize(static_cast<size_t>(size));
  std::memcpy(&(*bytes)[0], head, 3);
  return static_cast<bool>(f.read(&(*bytes)[3], size - 3));
}

int jpeg_scale_eighths_for(int width, int height, int min_short_side) {
  for (int m = 1; m < 8; ++m)
    if (std::min(ceil_scaled(width, m, 8), ceil_scaled(height, m, 8)) >= min_short_side) return m;
  return 8;
}

bool decode_jpeg_direct(const void* data, size_t size, const JpegDirectOptions& options, RgbImage* out,
                        JpegDecodeInfo* info) {
  if (!looks_like_jpeg(data, size)) return false;
  jpeg_decompress_struct cinfo;
  JumpingErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jump_out;
  err.pub.emit_message = on_message;
  err.pub.output_message = no_output;
  // Only libjpeg's C frames (and the callbacks above, which own nothing) lie between a longjmp and this setjmp.
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, static_cast<const unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const bool supported = (cinfo.num_components == 3 && (cinfo.jpeg_color_space == JCS_YCbCr ||
                                                        cinfo.jpeg_color_space == JCS_RGB)) ||
                         (cinfo.num_components == 1 && cinfo.jpeg_color_space == JCS_GRAYSCALE);
  const uint64_t pixels = static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height;
  if (!supported || (options.max_pixels != 0 && pixels > options.max_pixels)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;  // grayscale is replicated into R, G, B
  if (options.min_short_side > 0) {
    cinfo.scale_num = static_cast<unsigned>(jpeg_scale_eighths_for(static_cast<int>(cinfo.image_width),
                                                                   static_cast<int>(cinfo.image_height),
                                                                   options.min_short_side));
    cinfo.scale_denom = 8;
  } else {
    cinfo.scale_num = static_cast<unsigned>(options.scale_num);
    cinfo.scale_denom = static_cast<unsigned>(options.scale_denom);
  }
  jpeg_start_decompress(&cinfo);
  const size_t stride = static_cast<size_t>(cinfo.output_width) * 3;
  int keep_w = static_cast<int>(cinfo.output_width), keep_h = static_cast<int>(cinfo.output_height);
  if (options.floor_size) {
    keep_w = std::max(1, static_cast<int>(static_cast<uint64_t>(cinfo.image_width) * cinfo.scale_num /
                                          cinfo.scale_denom));
    keep_h = std::max(1, static_cast<int>(static_cast<uint64_t>(cinfo.image_height) * cinfo.scale_num /
                                          cinfo.scale_denom));
  }
  try {
    out->width = keep_w;
    out->height = keep_h;
    // One spare row of the full output width: rows past keep_h are decoded into it and dropped.
    out->rgb.resize(stride * (static_cast<size_t>(keep_h) + 1));
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  // Rows are written at the full output stride, then packed to keep_w below when narrower.
  JSAMPROW rows[16];
  while (cinfo.output_scanline < cinfo.output_height) {
    const JDIMENSION first = cinfo.output_scanline;
    const JDIMENSION n = std::min<JDIMENSION>(16, cinfo.output_height - first);
    for (JDIMENSION i = 0; i < n; ++i)
      rows[i] = out->rgb.data() + std::min<size_t>(first + i, static_cast<size_t>(keep_h)) * stride;
    jpeg_read_scanlines(&cinfo, rows, n);
  }
  const size_t keep_stride = static_cast<size_t>(keep_w) * 3;
  if (keep_stride != stride)
    for (int y = 1; y < keep_h; ++y)
      std::memmove(out->rgb.data() + y * keep_stride, out->rgb.data() + y * stride, keep_stride);
  out->rgb.resize(keep_stride * keep_h);
  if (info != nullptr) {
    info->source_width = static_cast<int>(cinfo.image_width);
    info->source_height = static_cast<int>(cinfo.image_height);
    info->scale_num = static_cast<int>(cinfo.scale_num);
    info->scale_denom = static_cast<int>(cinfo.scale_denom);
  }
  // No jpeg_finish_decompress: every pixel is out, and reading on to the EOI marker could only turn a missing end
  // marker into a fallback that libvips (which stops after the last row too) would not make.
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace kd
