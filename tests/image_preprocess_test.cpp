// Tests of common/image: PIL-equivalent decoding, exact CLIP preprocessing against the golden pixels, views, errors.
// Expected values for the generated images were taken from Pillow 9.4 (Image.open(f).convert("RGB")) during
// development; the images are generated here with libvips, so the tests need no Python.
#include <gtest/gtest.h>
#include <vips/vips8>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/pil_resize.h"
#include "common/image/detail/render_plan.h"
#include "common/image/renderer.h"
#include "common/util/error.h"
#include "tests/test_support.h"

namespace {

using kd::ResizeMode;
namespace fs = std::filesystem;

std::vector<char> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const void* data, size_t n) {
  std::ofstream f(p, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

// Minimal safetensors reader for one F32 tensor: u64 LE header length, JSON header, raw little-endian data.
std::vector<float> read_safetensors_f32(const fs::path& path, const std::string& name, std::vector<int64_t>* shape) {
  const std::vector<char> bytes = read_bytes(path);
  if (bytes.size() < 8) throw std::runtime_error("short safetensors file " + path.string());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<ptrdiff_t>(n));
  const auto& t = header.at(name);
  if (t.at("dtype") != "F32") throw std::runtime_error(name + " is not F32");
  *shape = t.at("shape").get<std::vector<int64_t>>();
  const size_t begin = t.at("data_offsets")[0].get<size_t>(), end = t.at("data_offsets")[1].get<size_t>();
  std::vector<float> out((end - begin) / 4);
  std::memcpy(out.data(), bytes.data() + 8 + n + begin, end - begin);
  return out;
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream f(p);
  std::vector<std::string> lines;
  for (std::string s; std::getline(f, s);)
    if (!s.empty()) lines.push_back(s);
  return lines;
}

vips::VImage from_bytes(const std::vector<uint8_t>& px, int w, int h, int bands, VipsBandFormat fmt) {
  kd::ensure_vips_initialized();
  // libvips takes a malloc'ed copy (and frees it), so no pointer into px survives; new_from_memory + copy_memory
  // would not copy (a memory image is already "in memory").
  void* copy = std::malloc(px.size());
  std::memcpy(copy, px.data(), px.size());
  return vips::VImage::new_from_memory_steal(copy, px.size(), w, h, bands, fmt);
}

std::vector<uint8_t> rgb_of(const std::vector<std::array<int, 3>>& px) {
  std::vector<uint8_t> out;
  for (const auto& p : px)
    for (int v : p) out.push_back(static_cast<uint8_t>(v));
  return out;
}

// ---- (a) golden pixels ----

TEST(ImagePreprocess, GoldenPixelsExact) {
  KD_REQUIRE_SHARED(shared);
  const fs::path golden = shared / "golden" / "tiny-clip";
  const fs::path images = shared / "data" / "coco-mini" / "COCO" / "val2017";
  std::vector<int64_t> shape;
  const std::vector<float> ref = read_safetensors_f32(golden / "reference.safetensors", "pixels", &shape);
  ASSERT_EQ(shape, (std::vector<int64_t>{8, 3, 224, 224}));
  const std::vector<std::string> names = read_lines(golden / "images.txt");
  ASSERT_EQ(names.size(), 8u);
  const size_t per = 3 * 224 * 224;
  std::vector<float> ours(per), view0(per);
  double max_diff = 0;
  std::string where = "none";
  for (size_t i = 0; i < names.size(); ++i) {
    kd::render((images / names[i]).string(), kd::ViewSpec::centre_crop(), ResizeMode::kExact, 224, ours.data());
    const kd::RgbImage img = kd::decode_image((images / names[i]).string());
    kd::render_image(img, kd::make_view(img.width, img.height, 224, 7, names[i], 0), ResizeMode::kExact, 224,
                     view0.data());
    for (size_t j = 0; j < per; ++j) {
      ASSERT_EQ(ours[j], view0[j]) << "render_image(view 0) != render(centre crop) for " << names[i] << " at " << j;
      const double d = std::fabs(static_cast<double>(ours[j]) - ref[i * per + j]);
      if (d > max_diff) {
        max_diff = d;
        where = names[i] + " [c=" + std::to_string(j / (224 * 224)) + ", y=" + std::to_string(j / 224 % 224) +
                ", x=" + std::to_string(j % 224) + "]";
      }
    }
  }
  std::cout << "golden pixels: max |diff| = " << max_diff << " at " << where << "\n";
  EXPECT_LE(max_diff, 1e-6) << "at " << where;
}

// ---- geometry ----

TEST(ImagePreprocess, GeometryMatchesTorchvision) {
  // 640x480 -> 298x224 (int(224*640/480) = int(298.67)), crop_left = round(37.0) = 37.
  kd::ClipGeometry g = kd::clip_geometry(640, 480, 224);
  EXPECT_EQ(g.resized_width, 298);
  EXPECT_EQ(g.resized_height, 224);
  EXPECT_EQ(g.crop_left, 37);
  EXPECT_EQ(g.crop_top, 0);
  // 427x640 -> 224x335; (335-224)/2 = 55.5 -> 56 (half to even).
  g = kd::clip_geometry(427, 640, 224);
  EXPECT_EQ(g.resized_height, 335);
  EXPECT_EQ(g.crop_top, 56);
  // 300x457: int(224*457/300) = int(341.2533) = 341; (341-224)/2 = 58.5 -> 58.
  g = kd::clip_geometry(300, 457, 224);
  EXPECT_EQ(g.resized_height, 341);
  EXPECT_EQ(g.crop_top, 58);
  EXPECT_EQ(kd::round_half_to_even_div2(1), 0);
  EXPECT_EQ(kd::round_half_to_even_div2(3), 2);
  EXPECT_EQ(kd::round_half_to_even_div2(5), 2);
  EXPECT_EQ(kd::round_half_to_even_div2(7), 4);
  EXPECT_EQ(kd::round_half_to_even_div2(8), 4);
}

TEST(ImagePreprocess, ResizeIdentityAndConstant) {
  // Same-size resize is the identity; a constant image stays constant at any size.
  std::vector<uint8_t> src(5 * 4 * 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 37 % 256);
  std::vector<uint8_t> out(src.size());
  kd::pil_resize_bicubic(kd::RgbView{src.data(), 5, 4, 15}, 5, 4, out.data());
  EXPECT_EQ(out, src);
  std::vector<uint8_t> flat(7 * 3 * 3, 93), big(50 * 20 * 3);
  kd::pil_resize_bicubic(kd::RgbView{flat.data(), 7, 3, 21}, 50, 20, big.data());
  for (uint8_t v : big) ASSERT_EQ(v, 93);
}

// ---- (b) PIL's convert("RGB") semantics ----

class ImageDecodeConversion : public ::testing::Test {
 protected:
  kd::test::TempDir dir{"kd-image"};
  kd::RgbImage save_and_decode(const vips::VImage& img, const std::string& name) {
    const std::string path = (dir / name).string();
    img.write_to_file(path.c_str());
    return kd::decode_image(path);
  }
};

TEST_F(ImageDecodeConversion, GrayscaleReplicates) {
  const kd::RgbImage out = save_and_decode(from_bytes({0, 17, 128, 255}, 2, 2, 1, VIPS_FORMAT_UCHAR), "g.png");
  EXPECT_EQ(out.rgb, rgb_of({{0, 0, 0}, {17, 17, 17}, {128, 128, 128}, {255, 255, 255}}));
}

TEST_F(ImageDecodeConversion, GrayAlphaDropsAlpha) {
  const kd::RgbImage out = save_and_decode(from_bytes({9, 0, 200, 77}, 2, 1, 2, VIPS_FORMAT_UCHAR), "la.png");
  EXPECT_EQ(out.rgb, rgb_of({{9, 9, 9}, {200, 200, 200}}));
}

TEST_F(ImageDecodeConversion, RgbaDropsAlphaWithoutCompositing) {
  const kd::RgbImage out =
      save_and_decode(from_bytes({10, 20, 30, 0, 200, 100, 50, 128}, 2, 1, 4, VIPS_FORMAT_UCHAR), "rgba.png");
  EXPECT_EQ(out.rgb, rgb_of({{10, 20, 30}, {200, 100, 50}}));
}

std::vector<uint8_t> ushort_bytes(const std::vector<uint16_t>& v) {
  std::vector<uint8_t> b(v.size() * 2);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST_F(ImageDecodeConversion, Rgb16TakesHighByte) {
  // PIL "RGB;16B": high byte.
  auto img = from_bytes(ushort_bytes({0, 100, 255, 256, 1000, 65535}), 2, 1, 3, VIPS_FORMAT_USHORT)
                 .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16));
  EXPECT_EQ(save_and_decode(img, "rgb16.png").rgb, rgb_of({{0, 0, 0}, {1, 3, 255}}));
}

TEST_F(ImageDecodeConversion, Gray16ClipsLikePilModeI) {
  // Pillow opens a 16-bit gray PNG as mode "I"; convert("RGB") clips to 0..255 (values checked with Pillow 9.4).
  auto img = from_bytes(ushort_bytes({0, 100, 255, 256, 1000, 65535}), 6, 1, 1, VIPS_FORMAT_USHORT)
                 .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_GREY16));
  EXPECT_EQ(save_and_decode(img, "g16.png").rgb,
            rgb_of({{0, 0, 0}, {100, 100, 100}, {255, 255, 255}, {255, 255, 255}, {255, 255, 255}, {255, 255, 255}}));
}

const std::vector<std::array<int, 3>> kEightColours = {{255, 0, 0},  {0, 255, 0},    {0, 0, 255}, {255, 255, 0},
                                                       {10, 20, 30}, {200, 100, 50}, {0, 0, 0},   {255, 255, 255}};

TEST_F(ImageDecodeConversion, PaletteGifAndPng) {
  const auto img = from_bytes(rgb_of(kEightColours), 4, 2, 3, VIPS_FORMAT_UCHAR);
  EXPECT_EQ(save_and_decode(img, "p.gif").rgb, rgb_of(kEightColours));  // Pillow: mode P, same colours
  const std::string png = (dir / "p.png").string();
  img.pngsave(png.c_str(), vips::VImage::option()->set("palette", true));
  EXPECT_EQ(kd::decode_image(png).rgb, rgb_of(kEightColours));  // Pillow: mode P, same colours
}

vips::VImage cmyk_blocks() {
  // 16x8: left 8x8 block CMYK (10,20,30,40), right block (200,100,50,128): uniform JPEG blocks survive Q=100.
  std::vector<uint8_t> px(16 * 8 * 4);
  const int cmyk[2][4] = {{10, 20, 30, 40}, {200, 100, 50, 128}};
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x)
      for (int k = 0; k < 4; ++k) px[(y * 16 + x) * 4 + k] = static_cast<uint8_t>(cmyk[x / 8][k]);
  return from_bytes(px, 16, 8, 4, VIPS_FORMAT_UCHAR)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK));
}

TEST_F(ImageDecodeConversion, CmykLikePil) {
  // Pillow 9.4 gives (207,198,190) and (27,77,102) for both files (cmyk2rgb with MULDIV255).
  for (const char* name : {"c.tif", "c.jpg"}) {
    const std::string path = (dir / name).string();
    if (std::string(name) == "c.jpg")
      cmyk_blocks().jpegsave(path.c_str(), vips::VImage::option()->set("Q", 100));
    else
      cmyk_blocks().write_to_file(path.c_str());
    const kd::RgbImage out = kd::decode_image(path);
    ASSERT_EQ(out.width, 16);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 16; ++x) {
        const uint8_t* p = &out.rgb[(y * 16 + x) * 3];
        const std::array<int, 3> want = x < 8 ? std::array<int, 3>{207, 198, 190} : std::array<int, 3>{27, 77, 102};
        ASSERT_EQ((std::array<int, 3>{p[0], p[1], p[2]}), want) << name << " at x=" << x << " y=" << y;
      }
  }
}

TEST_F(ImageDecodeConversion, OneByOne) {
  const kd::RgbImage img = save_and_decode(from_bytes({12, 200, 99}, 1, 1, 3, VIPS_FORMAT_UCHAR), "one.png");
  ASSERT_EQ(img.width, 1);
  std::vector<float> out(3 * 224 * 224);
  kd::render_image(img, kd::center_crop_view(1, 1, 224), ResizeMode::kExact, 224, out.data());
  const uint8_t v[3] = {12, 200, 99};
  for (int c = 0; c < 3; ++c) {
    const float want = (v[c] / 255.0f - kd::kClipMean[c]) / kd::kClipStd[c];
    for (int i = 0; i < 224 * 224; ++i) ASSERT_EQ(out[c * 224 * 224 + i], want) << "c=" << c << " i=" << i;
  }
  kd::render_image(img, kd::center_crop_view(1, 1, 224), ResizeMode::kFast, 224, out.data());
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(out[c * 224 * 224 + 5000], (v[c] / 255.0f - kd::kClipMean[c]) / kd::kClipStd[c], 1e-5);
}

// ---- (c) views ----

TEST(ImageViews, DeterministicAndDistinct) {
  const kd::ViewOptions opt;
  const kd::ViewParams a = kd::make_view(640, 480, 224, 42, "img/1.jpg", 3, opt);
  const kd::ViewParams b = kd::make_view(640, 480, 224, 42, "img/1.jpg", 3, opt);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.w, b.w);
  EXPECT_EQ(a.h, b.h);
  EXPECT_EQ(a.flip, b.flip);
  int distinct = 0, flips = 0;
  for (int v = 1; v <= 40; ++v) {
    const kd::ViewParams p = kd::make_view(640, 480, 224, 42, "img/1.jpg", v, opt);
    const kd::ViewParams q = kd::make_view(640, 480, 224, 42, "img/1.jpg", v + 1, opt);
    distinct += (p.x != q.x || p.y != q.y || p.w != q.w || p.h != q.h);
    flips += p.flip;
    // Inside the image, area within the scale range (rounding aside), aspect within the ratio range.
    EXPECT_GE(p.x, 0);
    EXPECT_GE(p.y, 0);
    EXPECT_LE(p.x + p.w, 640);
    EXPECT_LE(p.y + p.h, 480);
    EXPECT_GE(p.w * p.h, 0.5 * 640 * 480 * 0.98);
    EXPECT_LE(p.w / p.h, 4.0 / 3.0 * 1.02);
    EXPECT_GE(p.w / p.h, 3.0 / 4.0 * 0.98);
  }
  EXPECT_EQ(distinct, 40);
  EXPECT_GT(flips, 5);
  EXPECT_LT(flips, 35);
  // Different seed or key -> different view.
  const kd::ViewParams c = kd::make_view(640, 480, 224, 43, "img/1.jpg", 3, opt);
  const kd::ViewParams d = kd::make_view(640, 480, 224, 42, "img/2.jpg", 3, opt);
  EXPECT_TRUE(c.x != a.x || c.y != a.y || c.w != a.w);
  EXPECT_TRUE(d.x != a.x || d.y != a.y || d.w != a.w);
  // View 0 is the center crop and never flipped.
  const kd::ViewParams v0 = kd::make_view(640, 480, 224, 42, "img/1.jpg", 0, opt);
  EXPECT_TRUE(kd::is_center_crop_view(v0, 640, 480, 224));
  EXPECT_FALSE(v0.flip);
  EXPECT_NEAR(v0.x, 37 * 640.0 / 298, 1e-4);
  EXPECT_NEAR(v0.w, 224 * 640.0 / 298, 1e-4);
  EXPECT_EQ(v0.y, 0);
  EXPECT_EQ(v0.h, 480);
}

TEST(ImageViews, FallbackForExtremeAspect) {
  // A 1000x10 image can never fit a 3/4..4/3 box covering >= 50% of it: fallback to the central max-ratio crop.
  const kd::ViewParams p = kd::make_view(1000, 10, 224, 1, "k", 1);
  EXPECT_EQ(p.h, 10);
  EXPECT_EQ(p.w, 13);  // round(10 * 4/3)
  EXPECT_EQ(p.x, (1000 - 13) / 2);
}

TEST(ImageViews, RenderFlipAndCropMatchPil) {
  // A flipped view is the mirror of the unflipped one; an integer-box view equals PIL's crop + resize.
  KD_REQUIRE_SHARED(shared);
  const kd::RgbImage img =
      kd::decode_image((shared / "data" / "coco-mini" / "COCO" / "val2017" / "000000000139.jpg").string());
  kd::ViewParams v{10, 20, 300, 200, false};
  std::vector<float> a(3 * 224 * 224), b(a.size()), want(a.size());
  kd::render_image(img, v, ResizeMode::kExact, 224, a.data());
  v.flip = true;
  kd::render_image(img, v, ResizeMode::kExact, 224, b.data());
  for (int r = 0; r < 3 * 224; ++r)
    for (int x = 0; x < 224; ++x) ASSERT_EQ(a[r * 224 + x], b[r * 224 + 223 - x]);
  std::vector<uint8_t> crop(300 * 200 * 3), px(224 * 224 * 3);
  for (int y = 0; y < 200; ++y) std::memcpy(&crop[y * 900], &img.rgb[((20 + y) * img.width + 10) * 3], 900);
  kd::pil_resize_bicubic(kd::RgbView{crop.data(), 300, 200, 900}, 224, 224, px.data());
  kd::normalize_clip(px.data(), 224, 224, want.data());
  EXPECT_EQ(a, want);
  // Spot values from Pillow 9.4: img.crop((10,20,310,220)).resize((224,224), BICUBIC) pixels (0,0) and (223,223).
  const uint8_t* last = &px[(223 * 224 + 223) * 3];
  EXPECT_EQ((std::array<int, 3>{px[0], px[1], px[2]}), (std::array<int, 3>{181, 149, 76}));
  EXPECT_EQ((std::array<int, 3>{last[0], last[1], last[2]}), (std::array<int, 3>{91, 62, 52}));
}

// ---- (d) limits and errors ----

TEST(ImageDecodeErrors, MaxPixelsRejectsFromHeader) {
  kd::test::TempDir dir("kd-image");
  // A 3000x2000 JPEG cut to its first 1 KiB: the header is intact, the pixels are not. A rejection that names the
  // pixel count (not truncation) proves no pixel was decoded.
  std::vector<uint8_t> px(3000 * 2000, 128);
  const std::string full = (dir / "big.jpg").string();
  from_bytes(px, 3000, 2000, 1, VIPS_FORMAT_UCHAR).jpegsave(full.c_str());
  std::vector<char> bytes = read_bytes(full);
  bytes.resize(1024);
  const std::string cut = (dir / "big-cut.jpg").string();
  write_bytes(cut, bytes.data(), bytes.size());
  kd::DecodeOptions opt;
  opt.max_pixels = 1000000;
  try {
    kd::decode_image(cut, opt);
    FAIL() << "expected a max-pixels error";
  } catch (const kd::Error& e) {
    EXPECT_EQ(e.file_name(), cut);
    EXPECT_NE(std::string(e.what()).find("too many pixels"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3000x2000"), std::string::npos) << e.what();
  }
  opt.max_pixels = 6000000;  // exactly at the limit: allowed
  EXPECT_EQ(kd::decode_image(full, opt).width, 3000);
}

TEST(ImageDecodeErrors, BadFilesNameTheFile) {
  kd::test::TempDir dir("kd-image");
  std::vector<uint8_t> px(64 * 64 * 3, 77);
  const std::string good = (dir / "good.jpg").string();
  from_bytes(px, 64, 64, 3, VIPS_FORMAT_UCHAR).jpegsave(good.c_str());
  std::vector<char> bytes = read_bytes(good);
  bytes.resize(bytes.size() / 2);
  const std::string truncated = (dir / "truncated.jpg").string();
  write_bytes(truncated, bytes.data(), bytes.size());
  const std::string empty = (dir / "empty.jpg").string();
  write_bytes(empty, "", 0);
  const std::string text = (dir / "notes.jpg").string();
  write_bytes(text, "this is not an image\n", 21);
  const std::string missing = (dir / "missing.png").string();
  for (const std::string& path : {truncated, empty, text, missing}) {
    try {
      kd::decode_image(path);
      ADD_FAILURE() << "expected an error for " << path;
    } catch (const kd::Error& e) {
      EXPECT_EQ(e.file_name(), path);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      std::cout << "  " << e.what() << "\n";
    }
  }
  EXPECT_EQ(kd::decode_image(good).width, 64);
}

// ---- measurements (run by hand: --gtest_also_run_disabled_tests) ----

std::vector<std::string> coco_images(const fs::path& shared) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(shared / "data" / "coco-mini" / "COCO" / "val2017"))
    files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ImagePreprocessMeasure, DISABLED_FastModeDeviation) {
  KD_REQUIRE_SHARED(shared);
  const size_t per = 3 * 224 * 224;
  std::vector<float> exact(per), fast(per);
  double max_n = 0, sum_n = 0;
  size_t count = 0;
  for (const std::string& f : coco_images(shared)) {
    kd::render(f, kd::ViewSpec::centre_crop(), ResizeMode::kExact, 224, exact.data());
    kd::render(f, kd::ViewSpec::centre_crop(), ResizeMode::kFast, 224, fast.data());
    for (size_t i = 0; i < per; ++i) {
      const double d = std::fabs(exact[i] - fast[i]);
      max_n = std::max(max_n, d);
      sum_n += d;
    }
    count += per;
  }
  // Normalised units -> 0..255 units: multiply by std[c] * 255 (the largest std bounds the max; ~0.2652 the mean).
  std::cout << "fast (DCT scaling) vs exact: max |diff| " << max_n << " normalised (<= " << max_n * 255 * 0.27577711
            << " /255), mean " << sum_n / count << " normalised (~" << sum_n / count * 255 * 0.2652 << " /255)\n";
}

TEST(ImagePreprocessMeasure, DISABLED_Throughput) {
  KD_REQUIRE_SHARED(shared);
  const std::vector<std::string> files = coco_images(shared);
  std::vector<float> out(3 * 224 * 224);
  for (ResizeMode mode : {ResizeMode::kExact, ResizeMode::kFast}) {
    const auto t0 = std::chrono::steady_clock::now();
    int n = 0;
    for (int rep = 0; rep < 3; ++rep)
      for (const std::string& f : files) {
        kd::render(f, kd::ViewSpec::centre_crop(), mode, 224, out.data());
        ++n;
      }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << (mode == ResizeMode::kExact ? "exact" : "fast") << ": " << n / s << " images/s\n";
  }
}

}  // namespace
