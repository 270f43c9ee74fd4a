// render_view_file (decode only what the view reads) against decode_image + render_view: the same floats, bit for
// bit, for the centre crop and random resized crops of every coco-mini JPEG, and on the fallback paths.
#include <gtest/gtest.h>
#include <vips/vips8>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/image/image_decode.h"
#include "common/image/render_view.h"
#include "common/image/view_params.h"
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
  std::vector<std::string> files = kd::test::jpegs_in(shared / "data" / "coco-mini" / "image");
  const std::vector<std::string> val = kd::test::jpegs_in(shared / "data" / "coco-mini" / "COCO" / "val2017");
  files.insert(files.end(), val.begin(), val.end());
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
  // kFast goes through decode_image + render_view unchanged.
  expect_same_as_full_decode(
      f, [](int w, int h) { return kd::make_view(w, h, kRes, 7, "k", 0); }, kd::ResizeMode::kFast, "fast view 0");
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
    expect_same_as_full_decode(
        path, [](int w, int h) { return kd::make_view(w, h, kRes, 3, "p", 0); }, kd::ResizeMode::kExact, "view 0");
    expect_same_as_full_decode(
        path, [](int w, int h) { return kd::make_view(w, h, kRes, 3, "p", 2); }, kd::ResizeMode::kExact, "view 2");
  }
  // A view that is not finite is an error, whichever path decodes.
  const std::string jpg = (dir / "g.jpg").string();
  gradient.jpegsave(jpg.c_str());
  std::vector<float> out(kPer);
  for (const std::string& path : {jpg, png}) {
    const kd::Error e = kd::test::error_of([&] {
      kd::render_view_file(
          path, [](int, int) { return kd::ViewParams{NAN, 0, 10, 10, false}; }, kRes, kd::ResizeMode::kExact,
          out.data());
    });
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << path << ": " << e.what();
  }
  // A file that is not there: decode_image's error, naming it.
  const std::string missing = (dir / "missing.jpg").string();
  const kd::Error e = kd::test::error_of([&] {
    kd::render_view_file(
        missing, [](int w, int h) { return kd::make_view(w, h, kRes, 3, "m", 0); }, kRes, kd::ResizeMode::kExact,
        out.data());
  });
  EXPECT_EQ(e.file_name(), missing);
}
