// The one renderer: (decoded source image, view parameters) -> normalised CLIP input pixels. kd-extract (teacher)
// and kd-train (student) both call it, so a cached teacher embedding always matches the pixels the student sees.
//
// Semantics (kExact):
//   - a view equal to center_crop_view(w, h, res) (view 0) is rendered by clip_preprocess: bit-identical to CLIP's
//     own preprocessing (tested);
//   - any other view follows torchvision's resized_crop(img, top, left, h, w, size): the box is rounded to integer
//     pixels (x, y, w, h each to the nearest integer and clamped inside the image), cropped, then resized to
//     res x res with PIL's bicubic (pil_resize.h), so the filter sees no pixels outside the box. The
//     RandomResizedCrop views make_view draws already have integer boxes.
//   - flip mirrors the resized res x res result left-right (like RandomHorizontalFlip after RandomResizedCrop).
// kFast: the same boxes. From a decoded image (render_view): resized with libvips (vips_resize.h); view 0 uses
// clip_preprocess's fast path. From a JPEG file (render_view_file, JPEGs on the direct libjpeg path):
// clip_preprocess_fast_jpeg, a DCT-scaled decode of only what the view reads + PIL's bicubic at that scale, chosen
// per view (the smallest M/8 keeping the box's short side >= res); view 0 then equals clip_preprocess_file(kFast).
// The two kFast routes give different pixels, so a kFast cache's views must always be rendered from the file:
// kd-extract and kd-train's loader both call render_view_file (kd-extract once per view in kFast mode).
//
// render_view_file decodes and renders in one go. In kExact mode, for JPEGs on the direct libjpeg path, it decodes
// only the pixels the view reads (jpeg_decode.h's region: the centre crop's resize taps for view 0, the box for any
// other view); the result equals decode_image + render_view bit for bit (tests/render_view_file_test.cpp). In kFast
// mode JPEGs go through clip_preprocess_fast_jpeg (above). Every other file, and JPEGs the direct path refuses:
// decode_image + render_view.
#pragma once

#include <functional>
#include <string>

#include "common/image/clip_preprocess.h"
#include "common/image/image_decode.h"
#include "common/image/view_params.h"

namespace kd {

// out_chw: [3, resolution, resolution] float32, caller-owned (e.g. one slot of a batch tensor).
void render_view(const RgbImage& image, const ViewParams& view, int resolution, ResizeMode mode, float* out_chw);

// The view of a width x height image to render (e.g. make_view, or a stored ViewParams whatever the size).
using ViewForSize = std::function<ViewParams(int width, int height)>;

// Decode + render_view (see above). view_for_size is called once, with the image's full size, before any pixel is
// decoded; the view it returned is returned. Throws kd::Error naming the file when it cannot be decoded, as
// decode_image does. out_chw: [3, resolution, resolution] float32, caller-owned.
ViewParams render_view_file(const std::string& path, const ViewForSize& view_for_size, int resolution,
                            ResizeMode mode, float* out_chw, const DecodeOptions& options = {});

}  // namespace kd
