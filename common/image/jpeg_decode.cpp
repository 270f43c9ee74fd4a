// Direct libjpeg(-turbo) JPEG decoding (see jpeg_decode.h for what is handled and what falls back to libvips).
#include "common/image/detail/jpeg_decode.h"

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

ScaledSize jpeg_scaled_size(int width, int height, int scale_eighths) {
  return ScaledSize{ceil_scaled(width, scale_eighths, 8), ceil_scaled(height, scale_eighths, 8)};
}

int jpeg_scale_eighths_for(int width, int height, int min_short_side) {
  for (int m = 1; m < 8; ++m)
    if (std::min(ceil_scaled(width, m, 8), ceil_scaled(height, m, 8)) >= min_short_side) return m;
  return 8;
}

namespace {

// Sets up `cinfo` (already created, errors jumping to the caller's setjmp) and reads the header; false when the
// direct path does not handle this colour space or size.
bool start_header(jpeg_decompress_struct& cinfo, const void* data, size_t size, uint64_t max_pixels) {
  jpeg_mem_src(&cinfo, static_cast<const unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const bool supported = (cinfo.num_components == 3 && (cinfo.jpeg_color_space == JCS_YCbCr ||
                                                        cinfo.jpeg_color_space == JCS_RGB)) ||
                         (cinfo.num_components == 1 && cinfo.jpeg_color_space == JCS_GRAYSCALE);
  const uint64_t pixels = static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height;
  return supported && (max_pixels == 0 || pixels <= max_pixels);
}

void init_errors(jpeg_decompress_struct& cinfo, JumpingErrorManager& err) {
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jump_out;
  err.pub.emit_message = on_message;
  err.pub.output_message = no_output;
}

// read_jpeg_header (header != nullptr: stops after the header) and decode_jpeg_direct in one, so that the setjmp
// frame libjpeg's error exit returns to is written once.
bool run_decoder(const void* data, size_t size, const JpegDirectOptions& options, JpegHeader* header, RgbImage* out,
                 JpegDecodeInfo* info) {
  if (!looks_like_jpeg(data, size)) return false;
  jpeg_decompress_struct cinfo;
  JumpingErrorManager err;
  init_errors(cinfo, err);
  // Only libjpeg's C frames (and the callbacks above, which own nothing) lie between a longjmp and this setjmp.
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  const bool handled = start_header(cinfo, data, size, options.max_pixels);
  if (!handled || header != nullptr) {
    if (header != nullptr)
      *header = JpegHeader{static_cast<int>(cinfo.image_width), static_cast<int>(cinfo.image_height)};
    jpeg_destroy_decompress(&cinfo);
    return handled;
  }
  cinfo.out_color_space = JCS_RGB;  // grayscale is replicated into R, G, B
  cinfo.scale_num = static_cast<unsigned>(std::clamp(options.scale_eighths, 1, 8));
  cinfo.scale_denom = 8;
  jpeg_start_decompress(&cinfo);
  const int keep_w = static_cast<int>(cinfo.output_width), keep_h = static_cast<int>(cinfo.output_height);
  JpegDecodeInfo geometry;
  geometry.source_width = static_cast<int>(cinfo.image_width);
  geometry.source_height = static_cast<int>(cinfo.image_height);
  geometry.scale_eighths = static_cast<int>(cinfo.scale_num);
  geometry.width = keep_w;
  geometry.height = keep_h;
  geometry.block = PixelRect{0, 0, keep_w, keep_h};
  // The rows [ya, yb) and columns [xa, xb) libjpeg is asked for.
  int ya = 0, yb = keep_h, xa = 0, xb = keep_w;
  const bool region = !options.region.empty();
  if (region) {
    PixelRect want = options.region;
    want.x0 = std::max(want.x0, 0);
    want.y0 = std::max(want.y0, 0);
    want.x1 = std::min(want.x1, keep_w);
    want.y1 = std::min(want.y1, keep_h);
    if (!want.empty()) {
      // Margins of one iMCU (in output pixels): a crop edge or the first row after skipped rows may come out of the
      // fancy upsampler differently from a full decode (edge replication instead of the neighbouring chroma
      // sample), but no further in than one chroma sample, which is less than an iMCU. Rows end exactly at y1:
      // rows come out in order and are final once out, so stopping early changes none of them.
      const int imcu_w = cinfo.min_DCT_scaled_size * cinfo.max_h_samp_factor;
      const int imcu_h = cinfo.min_DCT_scaled_size * cinfo.max_v_samp_factor;
      ya = std::max(0, want.y0 - imcu_h);
      yb = want.y1;
      xa = std::max(0, want.x0 - imcu_w);
      if (want.x1 + imcu_w < keep_w) xb = want.x1 + imcu_w;
    }
  }
  if (xa > 0 || xb < keep_w) {
    JDIMENSION xoffset = static_cast<JDIMENSION>(xa), width = static_cast<JDIMENSION>(xb - xa);
    jpeg_crop_scanline(&cinfo, &xoffset, &width);  // moves xoffset left to an iMCU boundary, keeps the right edge
    if (static_cast<int>(xoffset) > xa || static_cast<int>(xoffset + width) != xb ||
        cinfo.output_width != width) {
      jpeg_destroy_decompress(&cinfo);
      return false;
    }
    xa = static_cast<int>(xoffset);
  }
  if (ya > 0 && jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(ya)) != static_cast<JDIMENSION>(ya)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  const size_t stride = static_cast<size_t>(cinfo.output_width) * 3;
  const int block_w = xb - xa, block_h = yb - ya;
  // Rows past yb are decoded (into one scratch row, and dropped) unless the data ends with an EOI marker: a truncated
  // file then still meets the premature-end warning and falls back (libvips and PIL refuse it), as without a region.
  const auto* bytes = static_cast<const unsigned char*>(data);
  const bool ends_with_eoi = size >= 2 && bytes[size - 2] == 0xFF && bytes[size - 1] == 0xD9;
  const int last_row = ends_with_eoi && region ? yb : static_cast<int>(cinfo.output_height);
  try {
    out->width = block_w;
    out->height = block_h;
    out->rgb.resize(stride * (static_cast<size_t>(block_h) + (last_row > yb ? 1 : 0)));
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  // Rows are written at the (cropped) output stride, then packed to block_w below when narrower.
  JSAMPROW rows[16];
  while (static_cast<int>(cinfo.output_scanline) < last_row) {
    const int first = static_cast<int>(cinfo.output_scanline);
    const int n = std::min(16, last_row - first);
    for (int i = 0; i < n; ++i)
      rows[i] = out->rgb.data() + static_cast<size_t>(std::min(first + i, yb) - ya) * stride;
    if (jpeg_read_scanlines(&cinfo, rows, static_cast<JDIMENSION>(n)) == 0) {  // suspension: not with a memory source
      jpeg_destroy_decompress(&cinfo);
      return false;
    }
  }
  const size_t keep_stride = static_cast<size_t>(block_w) * 3;
  if (keep_stride != stride)
    for (int y = 1; y < block_h; ++y)
      std::memmove(out->rgb.data() + y * keep_stride, out->rgb.data() + y * stride, keep_stride);
  out->rgb.resize(keep_stride * block_h);
  if (info != nullptr) {
    *info = geometry;
    info->block = PixelRect{xa, ya, xa + block_w, yb};
  }
  // No jpeg_finish_decompress: every pixel wanted is out (rows below the block are never decoded), and reading on to
  // the EOI marker could only turn a missing end marker into a fallback that libvips (which stops after the last row
  // too) would not make.
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace

bool read_jpeg_header(const void* data, size_t size, uint64_t max_pixels, JpegHeader* out) {
  JpegDirectOptions options;
  options.max_pixels = max_pixels;
  return run_decoder(data, size, options, out, nullptr, nullptr);
}

bool decode_jpeg_direct(const void* data, size_t size, const JpegDirectOptions& options, RgbImage* out,
                        JpegDecodeInfo* info) {
  return run_decoder(data, size, options, nullptr, out, info);
}

}  // namespace kd
