// render_view_file (decode only what the view reads) against decode_image + render_view: the same floats, bit for
// bit, for the centre crop and random resized crops of every coco-mini JPEG (kExact), and on the fallback paths;
// kFast JPEGs against the DCT-scaled rule on a whole decode.
#include <gtest/gtest.h>
#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/image/clip_preprocess.h"
#include "common/image/image_decode.h"
#include "common/image/jpeg_decode.h"
#include "common/image/pil_resize.h"
#include "common/image/render_view.h"
#include "common/image/view_params.h"
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

// Checks render_view_file(path, view_for_size) against decode_image + render_view with the same view.
void expect_same_as_full_decode(const std::string& path, const kd::ViewForSize& view_for_size, kd::ResizeMode mode,
                                const std::string& what) {
  std::vector<float> direct(kPer), full(kPer);
  int seen_w = 0, seen_h = 0;
  const kd::ViewParams used = kd::render_view_file(
      path,
      [&](int w, int h) {
        seen_w = w;
        seen_h = h;
        return view_for_size(w, h);
      },
      kRes, mode, direct.data());
  const kd::RgbImage image = kd::decode_image(path);
  EXPECT_EQ(seen_w, image.width) << path << " " << what;
  EXPECT_EQ(seen_h, image.height) << path << " " << what;
  const kd::ViewParams view = view_for_size(image.width, image.height);
  EXPECT_TRUE(used.x == view.x && used.y == view.y && used.w == view.w && used.h == view.h && used.flip == view.flip)
      << path << " " << what << ": returned view differs";
  kd::render_view(image, view, kRes, mode, full.data());
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
      expect_same_as_full_decode(
          f, [&](int w, int h) { return kd::make_view(w, h, kRes, 7, key, v); }, kd::ResizeMode::kExact,
          "view " + std::to_string(v));
    expect_same_as_full_decode(
        f, [&](int w, int h) { return kd::make_view(w, h, kRes, 11, key, 1, wide); }, kd::ResizeMode::kExact,
        "small view");
  }
  // A box at the bottom-right corner and a flipped one: the region reaches the image's last row and column.
  const std::string& f = files.front();
  expect_same_as_full_decode(
      f, [](int w, int h) { return kd::ViewParams{w - 40.0f, h - 30.0f, 40.0f, 30.0f, true}; },
      kd::ResizeMode::kExact, "corner box");
}

// kFast from a JPEG (render_view_file -> clip_preprocess_fast_jpeg), for every coco-mini JPEG and views 0-2 plus a
// small one, against the rule restated here on a whole decode: the full image decoded at the view's DCT scale
// (nothing skipped or cropped), PIL's bicubic over the box's edges times M/8, normalised, flipped. Bit for bit.
// View 0 must equal clip_preprocess_file(kFast). Against kExact of the same view the floats stay close (a box in the
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
      const kd::ViewForSize view_for_size = [&](int w, int h) {
        return v < 3 ? kd::make_view(w, h, kRes, 7, key, v) : kd::make_view(w, h, kRes, 11, key, 1, wide);
      };
      const kd::ViewParams view = kd::render_view_file(f, view_for_size, kRes, kd::ResizeMode::kFast, got.data());
      // The rule on a whole decode.
      kd::JpegDirectOptions header;
      header.scale_denom = 8;
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
      whole.scale_num = m;
      whole.scale_denom = 8;
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
        kd::clip_preprocess_file(f, kRes, kd::ResizeMode::kFast, clip_fast.data());
        EXPECT_EQ(first_difference(got, clip_fast, &max_abs), kPer) << what << ": differs from clip_preprocess_file";
      }
      // Close to kExact's render of the same view.
      kd::render_view_file(f, view_for_size, kRes, kd::ResizeMode::kExact, exact.data());
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
  std::cout << "[render_view_file kFast] " << scaled_views << " of " << 4 * files.size()
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
  // A PNG and a CMYK JPEG (neither goes through the direct libjpeg path) render as decode_image + render_view.
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
      expect_same_as_full_decode(
          path, [](int w, int h) { return kd::make_view(w, h, kRes, 3, "p", 0); }, mode, "view 0");
      expect_same_as_full_decode(
          path, [](int w, int h) { return kd::make_view(w, h, kRes, 3, "p", 2); }, mode, "view 2");
    }
  }
  // A view that is not finite is an error, whichever path decodes.
  const std::string jpg = (dir / "g.jpg").string();
  gradient.jpegsave(jpg.c_str());
  std::vector<float> out(kPer);
  for (const std::string& path : {jpg, png})
    for (kd::ResizeMode mode : {kd::ResizeMode::kExact, kd::ResizeMode::kFast}) {
      const kd::Error e = kd::test::error_of([&] {
        kd::render_view_file(
            path, [](int, int) { return kd::ViewParams{NAN, 0, 10, 10, false}; }, kRes, mode, out.data());
      });
      EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << path << ": " << e.what();
    }
  // clip_preprocess_fast_jpeg refuses a box reaching outside the image, naming the file (render_view_file clamps
  // its boxes inside, so only a direct caller can ask for one).
  const kd::Error outside = kd::test::error_of([&] {
    kd::clip_preprocess_fast_jpeg(
        jpg, [](int w, int h) { return kd::PixelRect{0, 0, w + 1, h}; }, kRes, out.data());
  });
  EXPECT_EQ(outside.file_name(), jpg);
  EXPECT_NE(std::string(outside.what()).find("outside the image"), std::string::npos) << outside.what();
  // A file that is not there: decode_image's error, naming it.
  const std::string missing = (dir / "missing.jpg").string();
  const kd::Error e = kd::test::error_of([&] {
    kd::render_view_file(
        missing, [](int w, int h) { return kd::make_view(w, h, kRes, 3, "m", 0); }, kRes, kd::ResizeMode::kExact,
        out.data());
  });
  EXPECT_EQ(e.file_name(), missing);
}
