// Tests of common/image/detail/jpeg_decode: the direct libjpeg path gives the pixels the libvips path gives (and hence the
// PIL pixels the golden tests check), refuses what it does not handle, and picks DCT scales by its stated rule.
#include <gtest/gtest.h>
#include <vips/vips8>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/jpeg_decode.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;

// Max |a - b| over the bytes, with where (pixel x, y, channel) the first maximum is; -1 if the sizes differ.
int max_abs_diff(const kd::RgbImage& a, const kd::RgbImage& b, std::string* where) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size()) {
    *where = std::to_string(a.width) + "x" + std::to_string(a.height) + " vs " + std::to_string(b.width) + "x" +
             std::to_string(b.height);
    return -1;
  }
  int worst = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const int d = std::abs(static_cast<int>(a.rgb[i]) - static_cast<int>(b.rgb[i]));
    if (d > worst) {
      worst = d;
      const size_t px = i / 3;
      *where = "x=" + std::to_string(px % a.width) + " y=" + std::to_string(px / a.width) +
               " c=" + std::to_string(i % 3);
    }
  }
  return worst;
}

vips::VImage gradient(int w, int h, int bands) {
  kd::ensure_vips_initialized();
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * bands);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < bands; ++c)
        px[(static_cast<size_t>(y) * w + x) * bands + c] = static_cast<uint8_t>((x * 7 + y * 3 + c * 50) % 256);
  void* copy = std::malloc(px.size());
  std::memcpy(copy, px.data(), px.size());
  return vips::VImage::new_from_memory_steal(copy, px.size(), w, h, bands, VIPS_FORMAT_UCHAR);
}

// libvips's shrink-on-load decode of a grayscale or colour JPEG as 8-bit RGB (the same libjpeg DCT scaling; libvips
// crops the result to floor(size / shrink)).
kd::RgbImage vips_shrunk(const std::string& path, int shrink) {
  kd::ensure_vips_initialized();
  const vips::VImage img = vips::VImage::new_from_file(path.c_str(), vips::VImage::option()->set("shrink", shrink));
  size_t size = 0;
  void* mem = img.write_to_memory(&size);
  kd::RgbImage out;
  out.width = img.width();
  out.height = img.height();
  const auto* p = static_cast<const uint8_t*>(mem);
  for (size_t i = 0; i < static_cast<size_t>(out.width) * out.height; ++i)
    for (int c = 0; c < 3; ++c) out.rgb.push_back(p[i * img.bands() + (img.bands() >= 3 ? c : 0)]);
  g_free(mem);
  return out;
}

// The first width x height pixels of `img` (libjpeg's ceil-sized scaled output cut to libvips's floor size).
kd::RgbImage cut_to(const kd::RgbImage& img, int width, int height) {
  kd::RgbImage out;
  out.width = std::min(width, img.width);
  out.height = std::min(height, img.height);
  for (int y = 0; y < out.height; ++y)
    out.rgb.insert(out.rgb.end(), img.rgb.begin() + static_cast<size_t>(y) * img.width * 3,
                   img.rgb.begin() + (static_cast<size_t>(y) * img.width + out.width) * 3);
  return out;
}

// Every coco-mini JPEG (train images and val2017), full size and at DCT scales 4/8, 2/8, 1/8: the direct path must
// handle the file and give exactly the libvips pixels (libvips's shrink-on-load 2, 4, 8 at the scaled sizes).
TEST(JpegDecode, DirectEqualsLibvipsOnEveryCocoMiniJpeg) {
  KD_REQUIRE_SHARED(shared);
  const std::vector<std::string> files = kd::test::coco_mini_jpegs(shared);
  ASSERT_GE(files.size(), 100u);
  int worst = 0;
  std::string worst_where = "none";
  for (const std::string& f : files) {
    const std::string bytes = kd::read_file(f);
    for (int shrink : {1, 2, 4, 8}) {
      kd::JpegDirectOptions jo;
      jo.scale_eighths = 8 / shrink;
      kd::RgbImage direct;
      ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), jo, &direct)) << f << " not handled directly";
      kd::DecodeOptions vo;
      vo.jpeg_direct = false;
      const kd::RgbImage via_vips = shrink == 1 ? kd::decode_image(f, vo) : vips_shrunk(f, shrink);
      if (shrink > 1) direct = cut_to(direct, via_vips.width, via_vips.height);
      std::string where;
      const int d = max_abs_diff(direct, via_vips, &where);
      ASSERT_GE(d, 0) << f << " shrink " << shrink << ": sizes differ, " << where;
      if (d > worst) {
        worst = d;
        worst_where = f + " shrink " + std::to_string(shrink) + " " + where;
      }
      if (shrink == 1) {
        vo.jpeg_direct = true;  // and decode_image takes the direct path by default
        ASSERT_EQ(kd::decode_image(f, vo).rgb, direct.rgb) << f;
      }
    }
  }
  std::cout << files.size() << " JPEGs x shrink {1,2,4,8}: direct vs libvips max |diff| = " << worst << " at "
            << worst_where << "\n";
  EXPECT_EQ(worst, 0) << "at " << worst_where;
}

TEST(JpegDecode, GrayscaleAndRgbJpegsEqualLibvips) {
  kd::test::TempDir dir("kd-jpeg");
  for (int bands : {1, 3}) {
    const std::string path = (dir / ("g" + std::to_string(bands) + ".jpg")).string();
    gradient(37, 23, bands).jpegsave(path.c_str(), vips::VImage::option()->set("Q", 90));
    const std::string bytes = kd::read_file(path);
    kd::RgbImage direct;
    ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), {}, &direct)) << path;
    kd::DecodeOptions vo;
    vo.jpeg_direct = false;
    std::string where;
    EXPECT_EQ(max_abs_diff(direct, kd::decode_image(path, vo), &where), 0) << path << " at " << where;
  }
}

TEST(JpegDecode, RefusesWhatLibvipsMustHandle) {
  kd::test::TempDir dir("kd-jpeg");
  const std::string good = (dir / "good.jpg").string();
  gradient(64, 48, 3).jpegsave(good.c_str());
  const std::string cmyk = (dir / "cmyk.jpg").string();
  gradient(16, 8, 4).copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK)).jpegsave(
      cmyk.c_str());
  const std::string ok = kd::read_file(good);
  kd::RgbImage out;
  ASSERT_TRUE(kd::decode_jpeg_direct(ok.data(), ok.size(), {}, &out));
  EXPECT_EQ(out.width, 64);
  EXPECT_EQ(out.height, 48);
  const std::string c = kd::read_file(cmyk), truncated = ok.substr(0, ok.size() / 2), text = "this is not an image\n";
  EXPECT_FALSE(kd::decode_jpeg_direct(c.data(), c.size(), {}, &out)) << "CMYK must go to libvips";
  EXPECT_FALSE(kd::decode_jpeg_direct(truncated.data(), truncated.size(), {}, &out)) << "truncated";
  EXPECT_FALSE(kd::decode_jpeg_direct(text.data(), text.size(), {}, &out)) << "text";
  EXPECT_FALSE(kd::decode_jpeg_direct(ok.data(), 0, {}, &out)) << "empty";
  EXPECT_FALSE(kd::decode_jpeg_direct(ok.data(), 200, {}, &out)) << "header only";
  kd::JpegDirectOptions limit;
  limit.max_pixels = 64 * 48 - 1;
  EXPECT_FALSE(kd::decode_jpeg_direct(ok.data(), ok.size(), limit, &out)) << "over max_pixels";
  limit.max_pixels = 64 * 48;
  EXPECT_TRUE(kd::decode_jpeg_direct(ok.data(), ok.size(), limit, &out)) << "at max_pixels";
  // Through decode_image the refusals become libvips's errors, naming the file.
  const std::string tpath = (dir / "truncated.jpg").string();
  std::ofstream(tpath, std::ios::binary) << truncated;
  try {
    kd::decode_image(tpath);
    ADD_FAILURE() << "expected an error for the truncated JPEG";
  } catch (const kd::Error& e) {
    EXPECT_EQ(e.file_name(), tpath);
    std::cout << "  " << e.what() << "\n";
  }
  EXPECT_EQ(kd::decode_image(cmyk).width, 16);
}

TEST(JpegDecode, ScaleRuleKeepsShortSideAtLeastTheTarget) {
  EXPECT_EQ(kd::jpeg_scale_eighths_for(640, 480, 224), 4);  // 4/8: 320x240; 3/8 would give 180
  EXPECT_EQ(kd::jpeg_scale_eighths_for(640, 427, 224), 5);  // 5/8: 400x267; 4/8 would give 214
  EXPECT_EQ(kd::jpeg_scale_eighths_for(500, 375, 224), 5);  // 5/8: 313x235
  EXPECT_EQ(kd::jpeg_scale_eighths_for(200, 300, 224), 8);  // already smaller: full size
  EXPECT_EQ(kd::jpeg_scale_eighths_for(2000, 1800, 224), 1);
  for (int w = 1; w < 700; w += 13)
    for (int h = 1; h < 700; h += 17) {
      const int m = kd::jpeg_scale_eighths_for(w, h, 224);
      const int s = std::min((w * m + 7) / 8, (h * m + 7) / 8);
      if (m < 8) {
        ASSERT_GE(s, 224) << w << "x" << h;
      }
      if (m > 1) {
        ASSERT_LT(std::min((w * (m - 1) + 7) / 8, (h * (m - 1) + 7) / 8), 224) << w << "x" << h;
      }
    }
  // The decoded size is libjpeg's ceil(w * M / 8), as jpeg_scaled_size (the planner's) says.
  kd::test::TempDir dir("kd-jpeg");
  const std::string path = (dir / "s.jpg").string();
  gradient(500, 375, 3).jpegsave(path.c_str());
  const std::string bytes = kd::read_file(path);
  kd::JpegHeader header;
  ASSERT_TRUE(kd::read_jpeg_header(bytes.data(), bytes.size(), 0, &header));
  EXPECT_EQ(header.width, 500);
  EXPECT_EQ(header.height, 375);
  kd::JpegDirectOptions jo;
  jo.scale_eighths = kd::jpeg_scale_eighths_for(header.width, header.height, 224);
  EXPECT_EQ(jo.scale_eighths, 5);
  kd::RgbImage img;
  ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), jo, &img));
  EXPECT_EQ(img.width, 313);
  EXPECT_EQ(img.height, 235);
  EXPECT_EQ(kd::jpeg_scaled_size(500, 375, 5).width, 313);
  EXPECT_EQ(kd::jpeg_scaled_size(500, 375, 5).height, 235);
  EXPECT_FALSE(kd::read_jpeg_header(bytes.data(), bytes.size(), 500 * 375 - 1, &header)) << "over max_pixels";
}

}  // namespace
