// The renderer's plan: CLIP's geometry, DCT scale and decode region for a view, and its execution (render_plan.h).
#include "common/image/detail/render_plan.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/image/detail/jpeg_decode.h"
#include "common/image/detail/pil_convert.h"
#include "common/image/detail/pil_mode_resize.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

void check_resolution(int resolution) {
  if (resolution <= 0 || resolution > 16384)
    throw Error("invalid render resolution").expected("1..16384").got(std::to_string(resolution));
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

// Mirrors each row of a [res, res] CHW float image in place.
void flip_chw(float* out_chw, int resolution) {
  for (int row = 0; row < 3 * resolution; ++row) {
    float* p = out_chw + static_cast<size_t>(row) * resolution;
    std::reverse(p, p + resolution);
  }
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

RenderPlan plan_render(const SourceHeader& header, const ViewParams& view, ResizeMode mode, int resolution) {
  check_resolution(resolution);
  const int W = header.width, H = header.height;
  if (W <= 0 || H <= 0) throw Error("invalid image size to render").got(std::to_string(W) + "x" + std::to_string(H));
  ViewParams unflipped = view;
  unflipped.flip = false;
  const bool centre = is_center_crop_view(unflipped, W, H, resolution);
  const PixelRect crop = centre ? PixelRect{0, 0, W, H} : view_box(view, W, H);  // full-size pixels
  RenderPlan p;
  p.view = view;
  p.resolution = resolution;
  if (mode == ResizeMode::kFast && header.dct_scalable)
    p.scale_eighths = jpeg_scale_eighths_for(crop.width(), crop.height(), resolution);
  const ScaledSize scaled = jpeg_scaled_size(W, H, p.scale_eighths);
  p.width = scaled.width;
  p.height = scaled.height;
  if (centre) {  // both modes: CLIP's geometry of the full-size image; the box is the whole image, scaled
    const ClipGeometry g = clip_geometry(W, H, resolution);
    const double f = p.scale_eighths / 8.0;
    p.source = PixelRect{0, 0, p.width, p.height};
    p.box[2] = static_cast<float>(W * f);
    p.box[3] = static_cast<float>(H * f);
    p.resized_width = g.resized_width;
    p.resized_height = g.resized_height;
    p.crop_left = g.crop_left;
    p.crop_top = g.crop_top;
  } else if (mode == ResizeMode::kExact) {  // the box as an image of its own
    p.source = crop;
    p.box[2] = static_cast<float>(crop.width());
    p.box[3] = static_cast<float>(crop.height());
    p.resized_width = p.resized_height = resolution;
  } else {  // kFast: the box's edges, scaled, in the whole scaled image
    const double f = p.scale_eighths / 8.0;
    p.source = PixelRect{0, 0, p.width, p.height};
    p.box[0] = static_cast<float>(crop.x0 * f);
    p.box[1] = static_cast<float>(crop.y0 * f);
    p.box[2] = static_cast<float>(crop.x1 * f);
    p.box[3] = static_cast<float>(crop.y1 * f);
    p.resized_width = p.resized_height = resolution;
  }
  const PixelRect taps = pil_resize_source_rect(p.source.width(), p.source.height(), p.box, p.resized_width,
                                                p.resized_height, p.crop_left, p.crop_top, resolution, resolution);
  p.region = PixelRect{p.source.x0 + taps.x0, p.source.y0 + taps.y0, p.source.x0 + taps.x1, p.source.y0 + taps.y1};
  return p;
}

void render_planned(const RenderPlan& plan, const RgbView& decoded, float* out_chw) {
  const PixelRect& s = plan.source;
  // The decoded pixels inside `source`, as a view of `source` seen as an image of its own.
  const int x0 = std::max(s.x0, decoded.x0), y0 = std::max(s.y0, decoded.y0);
  const int x1 = std::min(s.x1, decoded.x0 + decoded.width), y1 = std::min(s.y1, decoded.y0 + decoded.height);
  if (decoded.logical_width() != plan.width || decoded.logical_height() != plan.height || x1 <= x0 || y1 <= y0)
    throw InternalError(Error("decoded pixels do not match the render plan")
                            .expected(std::to_string(plan.width) + "x" + std::to_string(plan.height) + " image")
                            .got(std::to_string(decoded.logical_width()) + "x" +
                                 std::to_string(decoded.logical_height())));
  const RgbView src{decoded.data + static_cast<size_t>(y0 - decoded.y0) * decoded.stride + 3 * (x0 - decoded.x0),
                    x1 - x0,
                    y1 - y0,
                    decoded.stride,
                    x0 - s.x0,
                    y0 - s.y0,
                    s.width(),
                    s.height()};
  const int R = plan.resolution;
  std::vector<uint8_t> pixels(static_cast<size_t>(R) * R * 3);  // [R, R, 3]
  pil_resize_bicubic(src, plan.box, plan.resized_width, plan.resized_height, plan.crop_left, plan.crop_top, R, R,
                     pixels.data());
  normalize_clip(pixels.data(), R, R, out_chw);
  if (plan.view.flip) flip_chw(out_chw, R);
}

void render_image(const RgbImage& image, const ViewParams& view, ResizeMode mode, int resolution, float* out_chw) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error("invalid RGB image")
        .expected("width x height x 3 bytes")
        .got(std::to_string(image.width) + "x" + std::to_string(image.height) + ", " +
             std::to_string(image.rgb.size()) + " bytes");
  const RenderPlan plan = plan_render(SourceHeader{image.width, image.height, false}, view, mode, resolution);
  render_planned(plan, RgbView{image.rgb.data(), image.width, image.height, image.width * 3}, out_chw);
}

void render_pil_exact(const PilImage& image, const ViewParams& view, int resolution, float* out_chw) {
  const RenderPlan plan =
      plan_render(SourceHeader{image.width, image.height, false}, view, ResizeMode::kExact, resolution);
  const int R = plan.resolution;
  const PilImage window = pil_resize_mode(image, plan.source, plan.box, plan.resized_width, plan.resized_height,
                                          plan.crop_left, plan.crop_top, R, R);  // [R, R] in the image's mode
  std::vector<uint8_t> pixels(static_cast<size_t>(R) * R * 3);                  // [R, R, 3]
  pil_convert_rgb(window, pixels.data());
  normalize_clip(pixels.data(), R, R, out_chw);
  if (plan.view.flip) flip_chw(out_chw, R);
}

}  // namespace kd
