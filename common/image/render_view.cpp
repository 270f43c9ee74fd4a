// Renders a view of a decoded image into CLIP-normalised float pixels (see render_view.h).
#include "common/image/render_view.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "common/image/pil_resize.h"
#include "common/image/vips_resize.h"
#include "common/util/error.h"

namespace kd {
namespace {

// Mirrors each row of a [res, res] CHW float image in place.
void flip_chw(float* out_chw, int resolution) {
  for (int row = 0; row < 3 * resolution; ++row) {
    float* p = out_chw + static_cast<size_t>(row) * resolution;
    std::reverse(p, p + resolution);
  }
}

}  // namespace

void render_view(const RgbImage& image, const ViewParams& view, int resolution, ResizeMode mode, float* out_chw) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error("invalid RGB image for render_view")
        .got(std::to_string(image.width) + "x" + std::to_string(image.height));
  if (resolution <= 0) throw Error("invalid render resolution").got(std::to_string(resolution));

  ViewParams base = view;
  base.flip = false;
  if (is_center_crop_view(base, image.width, image.height, resolution)) {
    clip_preprocess(image, resolution, mode, out_chw);
  } else {
    if (!(std::isfinite(view.x) && std::isfinite(view.y) && std::isfinite(view.w) && std::isfinite(view.h)))
      throw Error("view box is not finite");
    const int x = std::clamp(static_cast<int>(std::lround(view.x)), 0, image.width - 1);
    const int y = std::clamp(static_cast<int>(std::lround(view.y)), 0, image.height - 1);
    const int w = std::clamp(static_cast<int>(std::lround(view.w)), 1, image.width - x);
    const int h = std::clamp(static_cast<int>(std::lround(view.h)), 1, image.height - y);
    std::vector<uint8_t> pixels(static_cast<size_t>(resolution) * resolution * 3);
    if (mode == ResizeMode::kExact) {
      const RgbView src{image.rgb.data() + (static_cast<size_t>(y) * image.width + x) * 3, w, h, image.width * 3};
      pil_resize_bicubic(src, resolution, resolution, pixels.data());
    } else {
      vips_resize_crop(image, x, y, w, h, resolution, resolution, 0, 0, resolution, resolution, pixels.data());
    }
    normalize_clip(pixels.data(), resolution, resolution, out_chw);
  }
  if (view.flip) flip_chw(out_chw, resolution);
}

}  // namespace kd
