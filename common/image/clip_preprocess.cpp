// CLIP preprocessing, exact (PIL + torchvision bit-for-bit) and fast (libvips) modes.
#include "common/image/clip_preprocess.h"

#include <vips/vips8>

#include <algorithm>
#include <vector>

#include "common/image/jpeg_decode.h"
#include "common/image/pil_resize.h"
#include "common/image/vips_resize.h"
#include "common/util/error.h"

namespace kd {
namespace {

void check_resolution(int resolution) {
  if (resolution <= 0 || resolution > 16384)
    throw Error("invalid preprocessing resolution").expected("1..16384").got(std::to_string(resolution));
}

void check_image(const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error("invalid RGB image")
        .expected("width x height x 3 bytes")
        .got(std::to_string(image.width) + "x" + std::to_string(image.height) + ", " +
             std::to_string(image.rgb.size()) + " bytes");
}

}  // namespace

int round_half_to_even_div2(int x) {
  const int q = x >= 0 ? x / 2 : -((-x) / 2);
  if (x % 2 == 0) return q;
  // x / 2 = q +- 0.5: pick the even neighbour.
  const int other = x > 0 ? q + 1 : q - 1;
  return (q % 2 == 0) ? q : other;
}

ClipGeometry clip_geometry(int width, int height, int resolution) {
  check_resolution(resolution);
  ClipGeometry g;
  // torchvision: short, long = sorted; new_long = int(size * long / short); Python's true division is a correctly
  // rounded double, as is this one.
  if (width <= height) {
    g.resized_width = resolution;
    g.resized_height = static_cast<int>(static_cast<double>(static_cast<int64_t>(resolution) * height) / width);
  } else {
    g.resized_height = resolution;
    g.resized_width = static_cast<int>(static_cast<double>(static_cast<int64_t>(resolution) * width) / height);
  }
  g.crop_top = round_half_to_even_div2(g.resized_height - resolution);
  g.crop_left = round_half_to_even_div2(g.resized_width - resolution);
  return g;
}

void normalize_clip(const uint8_t* rgb_hwc, int width, int height, float* out_chw) {
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - kClipMean[c]) / kClipStd[c];
  const size_t plane = static_cast<size_t>(width) * height;
  float* r = out_chw;
  float* g = out_chw + plane;
  float* b = out_chw + 2 * plane;
  for (size_t i = 0; i < plane; ++i) {
    r[i] = lut[0][rgb_hwc[3 * i + 0]];
    g[i] = lut[1][rgb_hwc[3 * i + 1]];
    b[i] = lut[2][rgb_hwc[3 * i + 2]];
  }
}

void clip_preprocess_exact(const RgbView& src, int resolution, float* out_chw) {
  const int width = src.logical_width(), height = src.logical_height();
  const ClipGeometry g = clip_geometry(width, height, resolution);
  const float box[4] = {0.0f, 0.0f, static_cast<float>(width), static_cast<float>(height)};
  std::vector<uint8_t> crop(static_cast<size_t>(resolution) * resolution * 3);  // [R, R, 3]
  pil_resize_bicubic(src, box, g.resized_width, g.resized_height, g.crop_left, g.crop_top, resolution, resolution,
                     crop.data());
  normalize_clip(crop.data(), resolution, resolution, out_chw);
}

RgbView decoded_block_view(const RgbImage& block, const JpegDecodeInfo& info) {
  return RgbView{block.rgb.data(), block.width,   block.height, block.width * 3,
                 info.block.x0,    info.block.y0, info.width,   info.height};
}

PixelRect clip_exact_source_rect(int width, int height, int resolution) {
  const ClipGeometry g = clip_geometry(width, height, resolution);
  const float box[4] = {0.0f, 0.0f, static_cast<float>(width), static_cast<float>(height)};
  return pil_resize_source_rect(width, height, box, g.resized_width, g.resized_height, g.crop_left, g.crop_top,
                                resolution, resolution);
}

void clip_preprocess(const RgbImage& image, int resolution, ResizeMode mode, float* out_chw) {
  check_image(image);
  if (mode == ResizeMode::kExact) {
    clip_preprocess_exact(RgbView{image.rgb.data(), image.width, image.height, image.width * 3}, resolution, out_chw);
    return;
  }
  const ClipGeometry g = clip_geometry(image.width, image.height, resolution);
  std::vector<uint8_t> crop(static_cast<size_t>(resolution) * resolution * 3);
  vips_resize_crop(image, 0, 0, image.width, image.height, g.resized_width, g.resized_height, g.crop_left,
                   g.crop_top, resolution, resolution, crop.data());
  normalize_clip(crop.data(), resolution, resolution, out_chw);
}

bool clip_preprocess_fast_jpeg(const std::string& path, const SourceBoxForSize& box_for_size, int resolution,
                               float* out_chw, uint64_t max_pixels) {
  check_resolution(resolution);
  PixelRect source_box;  // full-size pixels; empty: the centre crop
  float box[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // what is resized, in scaled pixels
  int resized_w = resolution, resized_h = resolution, crop_left = 0, crop_top = 0;
  JpegDirectOptions jo;
  jo.max_pixels = max_pixels;
  jo.scale_eighths = [&](int width, int height) {
    source_box = box_for_size(width, height);
    if (source_box.empty()) return jpeg_scale_eighths_for(width, height, resolution);
    if (source_box.x0 < 0 || source_box.y0 < 0 || source_box.x1 > width || source_box.y1 > height)
      throw Error("source box outside the image")
          .expected("inside " + std::to_string(width) + "x" + std::to_string(height))
          .got("[" + std::to_string(source_box.x0) + ", " + std::to_string(source_box.x1) + ") x [" +
               std::to_string(source_box.y0) + ", " + std::to_string(source_box.y1) + ")")
          .file(path);
    return jpeg_scale_eighths_for(source_box.width(), source_box.height(), resolution);
  };
  jo.region = [&](const JpegDecodeInfo& d) {
    const double f = static_cast<double>(d.scale_num) / d.scale_denom;
    if (source_box.empty()) {  // CLIP's geometry of the full-size image; the box is the whole image, scaled
      const ClipGeometry g = clip_geometry(d.source_width, d.source_height, resolution);
      resized_w = g.resized_width;
      resized_h = g.resized_height;
      crop_left = g.crop_left;
      crop_top = g.crop_top;
      box[2] = static_cast<float>(d.source_width * f);
      box[3] = static_cast<float>(d.source_height * f);
    } else {
      box[0] = static_cast<float>(source_box.x0 * f);
      box[1] = static_cast<float>(source_box.y0 * f);
      box[2] = static_cast<float>(source_box.x1 * f);
      box[3] = static_cast<float>(source_box.y1 * f);
    }
    return pil_resize_source_rect(d.width, d.height, box, resized_w, resized_h, crop_left, crop_top, resolution,
                                  resolution);
  };
  RgbImage block;
  JpegDecodeInfo info;
  if (!decode_jpeg_file(path, jo, &block, &info)) return false;
  std::vector<uint8_t> crop(static_cast<size_t>(resolution) * resolution * 3);  // [R, R, 3]
  pil_resize_bicubic(decoded_block_view(block, info), box, resized_w, resized_h, crop_left, crop_top, resolution,
                     resolution, crop.data());
  normalize_clip(crop.data(), resolution, resolution, out_chw);
  return true;
}

int fast_jpeg_shrink(int width, int height, int resolution) {
  const int short_side = std::min(width, height);
  for (int s : {8, 4, 2})
    if (short_side / s >= resolution) return s;
  return 1;
}

void clip_preprocess_file(const std::string& path, int resolution, ResizeMode mode, float* out_chw,
                          const DecodeOptions& options) {
  check_resolution(resolution);
  DecodeOptions opt = options;
  opt.jpeg_shrink = 1;
  opt.jpeg_min_short_side = 0;
  if (opt.jpeg_direct) {
    // JPEGs on the direct path: only the block the centre crop's resize reads is decoded (jpeg_decode.h's region),
    // and PIL's bicubic runs on it in the whole image's coordinates, so the pixels equal a full decode's.
    // kExact: full size, box = the image. kFast: clip_preprocess_fast_jpeg's centre crop.
    JpegDirectOptions jo;
    jo.max_pixels = opt.max_pixels;
    RgbImage block;
    JpegDecodeInfo info;
    if (mode == ResizeMode::kExact) {
      jo.floor_size = true;  // decode_image's full-size rule (at scale 1/1 floor and ceil agree)
      jo.region = [&](const JpegDecodeInfo& d) { return clip_exact_source_rect(d.width, d.height, resolution); };
      if (decode_jpeg_file(path, jo, &block, &info)) {
        clip_preprocess_exact(decoded_block_view(block, info), resolution, out_chw);
        return;
      }
    } else if (clip_preprocess_fast_jpeg(path, [](int, int) { return PixelRect{}; }, resolution, out_chw,
                                         opt.max_pixels)) {
      return;
    }
    opt.jpeg_direct = false;  // not a JPEG, or refused here: decode_image's direct path would refuse it too
  }
  // Everything else (other formats, CMYK or bad JPEGs): libvips; in kFast mode with shrink-on-load where it applies
  // and vips_resize.
  if (mode == ResizeMode::kFast) opt.jpeg_min_short_side = resolution;
  clip_preprocess(decode_image(path, opt), resolution, mode, out_chw);
}

}  // namespace kd
