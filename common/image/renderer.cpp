// The one renderer: header -> plan -> decode the plan's region -> execute the plan (see renderer.h).
#include "common/image/renderer.h"

#include <algorithm>
#include <map>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/jpeg_decode.h"
#include "common/image/detail/render_plan.h"
#include "common/util/error.h"

namespace kd {
namespace {

// The direct libjpeg route: one decode per DCT scale the plans use, of the union of their regions. False (out
// unspecified) when libjpeg refuses the data (truncated, corrupt): the caller then decodes with libvips.
bool render_jpeg(const std::string& bytes, const std::vector<RenderPlan>& plans, uint64_t max_pixels, float* out) {
  const size_t plane = 3 * static_cast<size_t>(plans.front().resolution) * plans.front().resolution;
  std::map<int, PixelRect> regions;  // scale_eighths -> union of the plans' regions
  for (const RenderPlan& p : plans) {
    auto [it, first] = regions.emplace(p.scale_eighths, p.region);
    PixelRect& r = it->second;
    if (!first)
      r = PixelRect{std::min(r.x0, p.region.x0), std::min(r.y0, p.region.y0), std::max(r.x1, p.region.x1),
                    std::max(r.y1, p.region.y1)};
  }
  for (const auto& [scale, region] : regions) {
    JpegDirectOptions jo;
    jo.max_pixels = max_pixels;
    jo.scale_eighths = scale;
    jo.region = region;
    RgbImage block;
    JpegDecodeInfo info;
    if (!decode_jpeg_direct(bytes.data(), bytes.size(), jo, &block, &info)) return false;
    const RgbView decoded{block.rgb.data(), block.width,   block.height, block.width * 3,
                          info.block.x0,    info.block.y0, info.width,   info.height};
    for (size_t i = 0; i < plans.size(); ++i)
      if (plans[i].scale_eighths == scale) render_planned(plans[i], decoded, out + i * plane);
  }
  return true;
}

}  // namespace

const std::vector<EnumSpelling<ResizeMode>>& enum_spellings(ResizeMode) {
  static const std::vector<EnumSpelling<ResizeMode>> kNames = {{ResizeMode::kExact, {"exact"}},
                                                              {ResizeMode::kFast, {"fast"}}};
  return kNames;
}

const char* to_string(ResizeMode mode) { return enum_name(mode).c_str(); }

ResizeMode parse_resize_mode(const std::string& text, const std::string& what) {
  try {
    return parse_enum<ResizeMode>(text, what);
  } catch (const Error&) {
    throw Error("unknown " + what).expected(enum_choices<ResizeMode>()).got(text);
  }
}

std::vector<ViewParams> render_views(const std::string& path, const std::vector<ViewSpec>& views, ResizeMode mode,
                                     int resolution, float* out_vchw, const RenderOptions& options) {
  std::vector<ViewParams> resolved;
  if (views.empty()) return resolved;
  const size_t plane = 3 * static_cast<size_t>(std::max(resolution, 0)) * std::max(resolution, 0);
  std::string bytes;
  JpegHeader h;
  if (read_jpeg_file(path, &bytes) && read_jpeg_header(bytes.data(), bytes.size(), options.max_pixels, &h)) {
    std::vector<RenderPlan> plans;
    for (const ViewSpec& v : views)
      plans.push_back(plan_render(SourceHeader{h.width, h.height, /*dct_scalable=*/true},
                                  resolve_view(v, h.width, h.height, resolution), mode, resolution));
    if (render_jpeg(bytes, plans, options.max_pixels, out_vchw)) {
      for (const RenderPlan& p : plans) resolved.push_back(p.view);
      return resolved;
    }
  }
  // Not a JPEG, or one libjpeg refuses: libvips decodes it whole (and names the file if it cannot).
  DecodeOptions d;
  d.max_pixels = options.max_pixels;
  d.jpeg_direct = false;
  const RgbImage image = decode_image(path, d);
  for (size_t i = 0; i < views.size(); ++i) {
    resolved.push_back(resolve_view(views[i], image.width, image.height, resolution));
    render_image(image, resolved.back(), mode, resolution, out_vchw + i * plane);
  }
  return resolved;
}

ViewParams render(const std::string& path, const ViewSpec& view, ResizeMode mode, int resolution, float* out_chw,
                  const RenderOptions& options) {
  return render_views(path, {view}, mode, resolution, out_chw, options).front();
}

}  // namespace kd
