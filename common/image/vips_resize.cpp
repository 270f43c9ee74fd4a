// libvips-based resize for the fast preprocessing mode.
#include "common/image/vips_resize.h"

#include <vips/vips8>

#include <algorithm>
#include <cstring>

#include "common/util/error.h"

namespace kd {

void vips_resize_crop(const RgbImage& image, int x, int y, int w, int h, int out_w, int out_h, int win_x, int win_y,
                      int win_w, int win_h, uint8_t* dst) {
  ensure_vips_initialized();
  if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > image.width || y + h > image.height || win_x < 0 || win_y < 0 ||
      win_x + win_w > out_w || win_y + win_h > out_h)
    throw Error("invalid fast-resize geometry")
        .got("box " + std::to_string(x) + "," + std::to_string(y) + " " + std::to_string(w) + "x" +
             std::to_string(h) + " in " + std::to_string(image.width) + "x" + std::to_string(image.height));
  try {
    vips::VImage img = vips::VImage::new_from_memory(const_cast<uint8_t*>(image.rgb.data()), image.rgb.size(),
                                                     image.width, image.height, 3, VIPS_FORMAT_UCHAR);
    if (x != 0 || y != 0 || w != image.width || h != image.height) img = img.extract_area(x, y, w, h);
    if (out_w != w || out_h != h) {
      img = img.resize(static_cast<double>(out_w) / w, vips::VImage::option()
                                                          ->set("vscale", static_cast<double>(out_h) / h)
                                                          ->set("kernel", VIPS_KERNEL_CUBIC));
      // vips rounds the output size; pad (edge copy) or cut to exactly out_w x out_h.
      if (img.width() < out_w || img.height() < out_h)
        img = img.embed(0, 0, std::max(out_w, img.width()), std::max(out_h, img.height()),
                        vips::VImage::option()->set("extend", VIPS_EXTEND_COPY));
    }
    img = img.extract_area(win_x, win_y, win_w, win_h);
    size_t size = 0;
    void* mem = img.write_to_memory(&size);
    std::memcpy(dst, mem, std::min(size, static_cast<size_t>(win_w) * win_h * 3));
    g_free(mem);
  } catch (const vips::VError& e) {
    vips_error_clear();
    throw Error("libvips resize failed").got(e.what());
  }
}

}  // namespace kd
