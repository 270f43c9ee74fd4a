// The renderer (render: decode only what the view reads) against a whole decode + render_image: the same floats, bit
// for bit, for the centre crop and random resized crops of every coco-mini JPEG (kExact), and on the fallback paths;
// kFast JPEGs against the DCT-scaled rule on a whole decode; render_views against one render per view.
#include <gtest/gtest.h>
#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/jpeg_decode.h"
#include "common/image/detail/pil_resize.h"
#include "common/image/detail/render_plan.h"
#include "common/image/renderer.h"
#include "common/util/atomic_file.h"
#include "tests/test_support.h"

namespace {

constexpr int kRes = 224;
constexpr size_t kPer = 3 * kRes * kRes;

// Index of the first differing float (kPer when none) and the largest |difference|.
size_t first_difference(const std::vector<float>& a, const std::vector<float>& b, double* max_abs) {
  size_t first = kPer;
  *max_abs = 0;
  for (size_t i = 0; i < kPer; ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0 && first == kPer) first = i;
    *max_abs = std::max(*max_abs, static_cast<double>(std::fabs(a[i] - b[i])));
  }
  return first;
}

bool same_view(const kd::ViewParams& a, const kd::ViewParams& b) {
  return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h && a.flip == b.flip;
}

// Checks render(path, spec) against decode_image + render_image with the same view, or, with in_pil_mode (kExact on
// a file libvips decodes), against decode_pil_image + render_pil_exact (the resize in the image's own mode).
void expect_same_as_full_decode(const std::string& path, const kd::ViewSpec& spec, kd::ResizeMode mode,
                                const std::string& what, bool in_pil_mode = false) {
  std::vector<float> direct(kPer), full(kPer);
  const kd::ViewParams used = kd::render(path, spec, mode, kRes, direct.data());
  const kd::RgbImage image = kd::decode_image(path);
  const kd::ViewParams view = kd::resolve_view(spec, image.width, image.height, kRes);
  EXPECT_TRUE(same_view(used, view)) << path << " " << what << ": returned view differs";
  if (in_pil_mode)
    kd::render_pil_exact(kd::decode_pil_image(path), view, kRes, full.data());
  else
    kd::render_image(image, view, mode, kRes, full.data());
  double max_abs = 0;
  const size_t first = first_difference(direct, full, &max_abs);
  EXPECT_EQ(first, kPer) << path << " " << what << ": first difference at float " << first << " (channel "
                         << first / (kRes * kRes) << ", row " << (first / kRes) % kRes << ", col " << first % kRes
                         << "), max |d| " << max_abs;
}

}  // namespace

TEST(RenderViewFile, CocoMiniViewsEqualFullDecode) {
  KD_REQUIRE_SHARED(shared);
  const std::vector<std::string> files = kd::test::coco_mini_jpegs(shared);
  ASSERT_EQ(files.size(), 159u);
  kd::ViewOptions wide;  // torchvision's ImageNet range: small boxes anywhere in the image
  wide.scale_min = 0.08f;
  for (const std::string& f : files) {
    const std::string key = std::filesystem::path(f).filename().string();
    for (int v = 0; v < 3; ++v)
      expect_same_as_full_decode(f, kd::ViewSpec::drawn(7, key, v), kd::ResizeMode::kExact,
                                 "view " + std::to_string(v));
    expect_same_as_full_decode(f, kd::ViewSpec::drawn(11, key, 1, wide), kd::ResizeMode::kExact, "small view");
  }
  // A box at the bottom-right corner and a flipped one: the region reaches the image's last row and column.
  const std::string& f = files.front();
  const kd::RgbImage first = kd::decode_image(f);
  expect_same_as_full_decode(
      f, kd::ViewSpec::of_recorded(kd::ViewParams{first.width - 40.0f, first.height - 30.0f, 40.0f, 30.0f, true}),
      kd::ResizeMode::kExact, "corner box");
}

// kFast from a JPEG (render), for every coco-mini JPEG and views 0-2 plus a
// small one, against the rule restated here on a whole decode: the full image decoded at the view's DCT scale
// (nothing skipped or cropped), PIL's bicubic over the box's edges times M/8, normalised, flipped. Bit for bit.
// View 0 must equal the centre crop's render. Against kExact of the same view the floats stay close (a box in the
// wrong place or scaled by the wrong factor would not): measured on these 636 views, mean |d| 0.019 normalised, the
// worst view's mean 0.10 (a finely textured image at 4/8), max |d| 1.05; bounds 0.04, 0.15 and 2.
TEST(RenderViewFile, FastViewsAreDctScaledDecodesOfTheirBox) {
  KD_REQUIRE_SHARED(shared);
  const std::vector<std::string> files = kd::test::coco_mini_jpegs(shared);
  ASSERT_EQ(files.size(), 159u);
  kd::ViewOptions wide;
  wide.scale_min = 0.08f;
  std::vector<float> got(kPer), want(kPer), exact(kPer), clip_fast(kPer);
  std::vector<uint8_t> crop(kPer);
  double worst_mean = 0, worst_max = 0, sum_of_means = 0;
  std::string worst_mean_at, worst_max_at;
  int scaled_views = 0;
  for (const std::string& f : files) {
    const std::string key = std::filesystem::path(f).filename().string();
    const std::string bytes = kd::read_file(f);
    for (int v = 0; v < 4; ++v) {
      const std::string what = f + " view " + std::to_string(v);
      const kd::ViewSpec spec = v < 3 ? kd::ViewSpec::drawn(7, key, v) : kd::ViewSpec::drawn(11, key, 1, wide);
      const kd::ViewParams view = kd::render(f, spec, kd::ResizeMode::kFast, kRes, got.data());
      // The rule on a whole decode.
      kd::JpegDirectOptions header;
      header.scale_eighths = 1;
      kd::RgbImage eighth;
      kd::JpegDecodeInfo info;
      ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), header, &eighth, &info)) << what;
      const int W = info.source_width, H = info.source_height;
      const bool centre = v == 0;
      ASSERT_EQ(kd::is_center_crop_view(kd::ViewParams{view.x, view.y, view.w, view.h, false}, W, H, kRes), centre)
          << what;
      const int bx = std::clamp(static_cast<int>(std::lround(view.x)), 0, W - 1);
      const int by = std::clamp(static_cast<int>(std::lround(view.y)), 0, H - 1);
      const int bw = std::clamp(static_cast<int>(std::lround(view.w)), 1, W - bx);
      const int bh = std::clamp(static_cast<int>(std::lround(view.h)), 1, H - by);
      const int m = centre ? kd::jpeg_scale_eighths_for(W, H, kRes) : kd::jpeg_scale_eighths_for(bw, bh, kRes);
      scaled_views += m < 8;
      kd::JpegDirectOptions whole;
      whole.scale_eighths = m;
      kd::RgbImage img;
      ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), whole, &img, &info)) << what;
      const double s = m / 8.0;
      const kd::RgbView all{img.rgb.data(), img.width, img.height, img.width * 3};
      if (centre) {
        const kd::ClipGeometry g = kd::clip_geometry(W, H, kRes);
        const float box[4] = {0.0f, 0.0f, static_cast<float>(W * s), static_cast<float>(H * s)};
        kd::pil_resize_bicubic(all, box, g.resized_width, g.resized_height, g.crop_left, g.crop_top, kRes, kRes,
                               crop.data());
      } else {
        const float box[4] = {static_cast<float>(bx * s), static_cast<float>(by * s),
                              static_cast<float>((bx + bw) * s), static_cast<float>((by + bh) * s)};
        kd::pil_resize_bicubic(all, box, kRes, kRes, 0, 0, kRes, kRes, crop.data());
      }
      kd::normalize_clip(crop.data(), kRes, kRes, want.data());
      if (view.flip)
        for (int row = 0; row < 3 * kRes; ++row) std::reverse(want.begin() + row * kRes, want.begin() + (row + 1) * kRes);
      double max_abs = 0;
      const size_t first = first_difference(got, want, &max_abs);
      EXPECT_EQ(first, kPer) << what << " (scale " << m << "/8): first difference at float " << first
                             << ", max |d| " << max_abs;
      if (centre) {
        kd::render(f, kd::ViewSpec::centre_crop(), kd::ResizeMode::kFast, kRes, clip_fast.data());
        EXPECT_EQ(first_difference(got, clip_fast, &max_abs), kPer) << what << ": differs from the centre crop's";
      }
      // Close to kExact's render of the same view.
      kd::render(f, spec, kd::ResizeMode::kExact, kRes, exact.data());
      double sum = 0, mx = 0;
      for (size_t i = 0; i < kPer; ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - exact[i]);
        sum += d;
        mx = std::max(mx, d);
      }
      sum_of_means += sum / kPer;
      if (sum / kPer > worst_mean) worst_mean = sum / kPer, worst_mean_at = what;
      if (mx > worst_max) worst_max = mx, worst_max_at = what;
    }
  }
  std::cout << "[render kFast] " << scaled_views << " of " << 4 * files.size()
            << " views DCT-scaled; against kExact: mean |d| " << sum_of_means / (4 * files.size())
            << ", worst view's mean |d| " << worst_mean << " (" << worst_mean_at
            << "), worst max |d| " << worst_max << " (" << worst_max_at << ")\n";
  EXPECT_GT(scaled_views, static_cast<int>(files.size()));  // most views are decoded below full size
  EXPECT_LE(sum_of_means / (4 * files.size()), 0.04);
  EXPECT_LE(worst_mean, 0.15) << worst_mean_at;
  EXPECT_LE(worst_max, 2.0) << worst_max_at;
}

TEST(RenderViewFile, FallbackFormatsAndBadViews) {
  kd::test::TempDir dir("kd-render-file");
  kd::ensure_vips_initialized();
  // A PNG and a CMYK JPEG (neither goes through the direct libjpeg path) render as a whole decode: in kExact in the
  // file's PIL mode (the CMYK JPEG is resized in CMYK), in kFast as RGB.
  const vips::VImage gradient = vips::VImage::xyz(97, 61)
                                    .extract_band(0)
                                    .bandjoin(vips::VImage::xyz(97, 61).extract_band(1))
                                    .bandjoin(vips::VImage::xyz(97, 61).extract_band(0))
                                    .cast(VIPS_FORMAT_UCHAR);
  const std::string png = (dir / "g.png").string(), cmyk = (dir / "cmyk.jpg").string();
  gradient.pngsave(png.c_str());
  gradient.bandjoin(gradient.extract_band(0))
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK))
      .jpegsave(cmyk.c_str());
  for (const std::string& path : {png, cmyk}) {
    for (kd::ResizeMode mode : {kd::ResizeMode::kExact, kd::ResizeMode::kFast}) {
      const bool in_pil_mode = mode == kd::ResizeMode::kExact;
      expect_same_as_full_decode(path, kd::ViewSpec::drawn(3, "p", 0), mode, "view 0", in_pil_mode);
      expect_same_as_full_decode(path, kd::ViewSpec::drawn(3, "p", 2), mode, "view 2", in_pil_mode);
    }
  }
  // A view that is not finite is an error, whichever path decodes.
  const std::string jpg = (dir / "g.jpg").string();
  gradient.jpegsave(jpg.c_str());
  std::vector<float> out(kPer);
  for (const std::string& path : {jpg, png})
    for (kd::ResizeMode mode : {kd::ResizeMode::kExact, kd::ResizeMode::kFast}) {
      const kd::Error e = kd::test::error_of([&] {
        kd::render(path, kd::ViewSpec::of_recorded(kd::ViewParams{NAN, 0, 10, 10, false}), mode, kRes, out.data());
      });
      EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << path << ": " << e.what();
    }
  // A file that is not there: decode_image's error, naming it.
  const std::string missing = (dir / "missing.jpg").string();
  const kd::Error e = kd::test::error_of(
      [&] { kd::render(missing, kd::ViewSpec::drawn(3, "m", 0), kd::ResizeMode::kExact, kRes, out.data()); });
  EXPECT_EQ(e.file_name(), missing);
}

// render_views (kd-extract: several views of an image decoded once, per DCT scale in kFast) gives, view by view, the
// floats of one render call per view (kd-train's loader), and returns the same views; for JPEGs and a PNG.
TEST(RenderViewFile, RenderViewsEqualOneRenderPerView) {
  KD_REQUIRE_SHARED(shared);
  std::vector<std::string> files = kd::test::coco_mini_jpegs(shared);
  files.resize(std::min<size_t>(files.size(), 40));
  kd::test::TempDir dir("kd-render-views");
  kd::ensure_vips_initialized();
  const std::string png = (dir / "g.png").string();
  vips::VImage::xyz(131, 90).extract_band(0).bandjoin(vips::VImage::xyz(131, 90)).cast(VIPS_FORMAT_UCHAR)
      .pngsave(png.c_str());
  files.push_back(png);
  kd::ViewOptions wide;
  wide.scale_min = 0.08f;
  for (const std::string& f : files)
    for (kd::ResizeMode mode : {kd::ResizeMode::kExact, kd::ResizeMode::kFast}) {
      const std::string key = std::filesystem::path(f).filename().string();
      std::vector<kd::ViewSpec> specs;
      for (int v = 0; v < 4; ++v) specs.push_back(kd::ViewSpec::drawn(5, key, v, wide));
      std::vector<float> all(specs.size() * kPer), one(kPer), part(kPer);
      const std::vector<kd::ViewParams> views = kd::render_views(f, specs, mode, kRes, all.data());
      ASSERT_EQ(views.size(), specs.size());
      for (size_t v = 0; v < specs.size(); ++v) {
        const kd::ViewParams single = kd::render(f, specs[v], mode, kRes, one.data());
        EXPECT_TRUE(same_view(views[v], single)) << f << " view " << v;
        std::copy(all.begin() + v * kPer, all.begin() + (v + 1) * kPer, part.begin());
        double max_abs = 0;
        EXPECT_EQ(first_difference(part, one, &max_abs), kPer)
            << f << (mode == kd::ResizeMode::kExact ? " exact" : " fast") << " view " << v << ": max |d| " << max_abs;
      }
    }
}
