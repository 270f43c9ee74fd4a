// Renders a view of a decoded image into CLIP-normalised float pixels (see render_view.h).
#include "common/image/render_view.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "common/image/pil_resize.h"
#include "common/image/vips_resize.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

// Mirrors each row of a [res, res] CHW float image in place.
void flip_chw(float* out_chw, int resolution) {
  for (int row = 0; row < 3 * resolution; ++row) {
    float* p = out_chw + static_cast<size_t>(row) * resolution;
    std::reverse(p, p + resolution);
  }
}

void check_resolution(int resolution) {
  if (resolution <= 0) throw Error("invalid render resolution").got(std::to_string(resolution));
}

// The integer box a view other than the centre crop reads from a width x height image (torchvision's
// resized_crop rounding, clamped inside the image).
PixelRect view_box(const ViewParams& view, int width, int height) {
  if (!(std::isfinite(view.x) && std::isfinite(view.y) && std::isfinite(view.w) && std::isfinite(view.h)))
    throw Error("view box is not finite");
  const int x = std::clamp(static_cast<int>(std::lround(view.x)), 0, width - 1);
  const int y = std::clamp(static_cast<int>(std::lround(view.y)), 0, height - 1);
  const int w = std::clamp(static_cast<int>(std::lround(view.w)), 1, width - x);
  const int h = std::clamp(static_cast<int>(std::lround(view.h)), 1, height - y);
  return PixelRect{x, y, x + w, y + h};
}

bool is_center_view(const ViewParams& view, int width, int height, int resolution) {
  ViewParams base = view;
  base.flip = false;
  return is_center_crop_view(base, width, height, resolution);
}

// kExact rendering from pixels held in a view of the image (the whole image or a decoded block of it).
void render_view_exact(const RgbView& src, const ViewParams& view, int resolution, float* out_chw) {
  const int width = src.logical_width(), height = src.logical_height();
  if (is_center_view(view, width, height, resolution)) {
    clip_preprocess_exact(src, resolution, out_chw);
  } else {
    const PixelRect box = view_box(view, width, height);
    if (box.x0 < src.x0 || box.y0 < src.y0 || box.x1 > src.x0 + src.width || box.y1 > src.y0 + src.height)
      throw InternalError(Error("view box outside the decoded pixels"));
    // The box as an image of its own: the resize sees no pixels outside it.
    const RgbView crop{src.data + static_cast<size_t>(box.y0 - src.y0) * src.stride + 3 * (box.x0 - src.x0),
                       box.width(), box.height(), src.stride};
    std::vector<uint8_t> pixels(static_cast<size_t>(resolution) * resolution * 3);  // [R, R, 3]
    pil_resize_bicubic(crop, resolution, resolution, pixels.data());
    normalize_clip(pixels.data(), resolution, resolution, out_chw);
  }
  if (view.flip) flip_chw(out_chw, resolution);
}

}  // namespace

void render_view(const RgbImage& image, const ViewParams& view, int resolution, ResizeMode mode, float* out_chw) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error("invalid RGB image for render_view")
        .got(std::to_string(image.width) + "x" + std::to_string(image.height));
  check_resolution(resolution);
  if (mode == ResizeMode::kExact) {
    render_view_exact(RgbView{image.rgb.data(), image.width, image.height, image.width * 3}, view, resolution,
                      out_chw);
    return;
  }
  if (is_center_view(view, image.width, image.height, resolution)) {
    clip_preprocess(image, resolution, mode, out_chw);
  } else {
    const PixelRect box = view_box(view, image.width, image.height);
    std::vector<uint8_t> pixels(static_cast<size_t>(resolution) * resolution * 3);  // [R, R, 3]
    vips_resize_crop(image, box.x0, box.y0, box.width(), box.height(), resolution, resolution, 0, 0, resolution,
                     resolution, pixels.data());
    normalize_clip(pixels.data(), resolution, resolution, out_chw);
  }
  if (view.flip) flip_chw(out_chw, resolution);
}

ViewParams render_view_file(const std::string& path, const ViewForSize& view_for_size, int resolution,
                            ResizeMode mode, float* out_chw, const DecodeOptions& options) {
  check_resolution(resolution);
  DecodeOptions opt = options;
  opt.jpeg_shrink = 1;
  opt.jpeg_min_short_side = 0;
  if (mode == ResizeMode::kExact && opt.jpeg_direct) {
    JpegDirectOptions jo;
    jo.max_pixels = opt.max_pixels;
    jo.floor_size = true;  // decode_image's full-size rule
    ViewParams view;
    jo.region = [&](const JpegDecodeInfo& d) {
      view = view_for_size(d.width, d.height);
      if (is_center_view(view, d.width, d.height, resolution))
        return clip_exact_source_rect(d.width, d.height, resolution);
      return view_box(view, d.width, d.height);
    };
    RgbImage block;
    JpegDecodeInfo info;
    if (decode_jpeg_file(path, jo, &block, &info)) {
      render_view_exact(decoded_block_view(block, info), view, resolution, out_chw);
      return view;
    }
    opt.jpeg_direct = false;  // not a JPEG, or refused here: decode_image's direct path would refuse it too
  }
  if (mode == ResizeMode::kFast && opt.jpeg_direct) {
    ViewParams view;
    const SourceBoxForSize box_for_size = [&](int width, int height) {
      view = view_for_size(width, height);
      return is_center_view(view, width, height, resolution) ? PixelRect{} : view_box(view, width, height);
    };
    if (clip_preprocess_fast_jpeg(path, box_for_size, resolution, out_chw, opt.max_pixels)) {
      if (view.flip) flip_chw(out_chw, resolution);
      return view;
    }
    opt.jpeg_direct = false;
  }
  const RgbImage image = decode_image(path, opt);
  const ViewParams view = view_for_size(image.width, image.height);
  render_view(image, view, resolution, mode, out_chw);
  return view;
}

}  // namespace kd
