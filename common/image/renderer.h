// The one renderer: (image file, view, resize mode, resolution R) -> CLIP's normalised input pixels [3, R, R].
// kd-extract (teacher), kd-train's loader (student) and kd-eval / in-training validation all call it with the mode
// their cache records, so a cached teacher embedding always matches the pixels the student is scored on.
//
// Inside (docs/rendering.md has the picture): the header is read, one planning function turns (header, view, mode,
// R) into a RenderPlan value (DCT scale, region to decode, resize geometry; common/image/detail/render_plan.h, which
// also states both modes' semantics), the plan's region is decoded, and the plan is executed. Routes: JPEGs that
// libjpeg decodes directly (grayscale, YCbCr, RGB) decode only the plan's region, at the plan's DCT scale; every
// other file (PNG, GIF, TIFF, CMYK or bad JPEGs) is decoded whole by libvips at full size (detail/image_decode.h:
// PIL's convert("RGB") rules). The pixels are the same whichever route a file takes in kExact: PIL's, bit for bit.
//   kExact: PIL + torchvision bit for bit (CLIP's own preprocessing for view 0; resized_crop for other views).
//   kFast: JPEGs decoded at the smallest DCT scale M/8 keeping the view's short side >= R, then PIL's bicubic: close
//     to kExact, not equal (docs/benchmarks.md); use it only with caches extracted in kFast.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/image/view_params.h"
#include "common/util/enum_names.h"

namespace kd {

enum class ResizeMode { kExact, kFast };
// Its spellings (enum_names.h): "exact", "fast", as caches record them and --resize reads them.
const std::vector<EnumSpelling<ResizeMode>>& enum_spellings(ResizeMode);

// "exact" / "fast" (what caches record); parse_resize_mode throws kd::Error naming `what` for anything else.
const char* to_string(ResizeMode mode);
ResizeMode parse_resize_mode(const std::string& text, const std::string& what = "resize mode");

// OpenAI CLIP normalisation constants (RGB): as published (the decimals configs and records print), and as the
// float32 values the pixel arithmetic uses.
constexpr double kClipMeanDecimal[3] = {0.48145466, 0.4578275, 0.40821073};
constexpr double kClipStdDecimal[3] = {0.26862954, 0.26130258, 0.27577711};
constexpr float kClipMean[3] = {static_cast<float>(kClipMeanDecimal[0]), static_cast<float>(kClipMeanDecimal[1]),
                                static_cast<float>(kClipMeanDecimal[2])};
constexpr float kClipStd[3] = {static_cast<float>(kClipStdDecimal[0]), static_cast<float>(kClipStdDecimal[1]),
                               static_cast<float>(kClipStdDecimal[2])};
constexpr int kClipResolution = 224;

struct RenderOptions {
  // Refuse images whose header says width * height > max_pixels (kd::Error naming the file), before any pixel is
  // decoded. 0 = no limit.
  uint64_t max_pixels = 0;
};

// Renders one view of the image at `path`. Returns the view as resolved for this image (what kd-extract records).
// Throws kd::Error naming the file when it cannot be decoded (truncated, not an image, too many pixels) or the view
// is not finite. out_chw: [3, R, R] float32, caller-owned (e.g. one slot of a batch tensor).
ViewParams render(const std::string& path, const ViewSpec& view, ResizeMode mode, int resolution, float* out_chw,
                  const RenderOptions& options = {});

// Several views of one image, decoding it once per DCT scale the views need (kExact: once): the same pixels as
// calling render once per view. out_vchw: [V, 3, R, R] float32, caller-owned. Returns the V resolved views.
std::vector<ViewParams> render_views(const std::string& path, const std::vector<ViewSpec>& views, ResizeMode mode,
                                     int resolution, float* out_vchw, const RenderOptions& options = {});

}  // namespace kd
