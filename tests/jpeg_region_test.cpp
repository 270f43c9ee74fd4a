// Tests of the partial JPEG decode (detail/jpeg_decode.h's region) and its use by the renderer: inside the requested
// rectangle the pixels equal the full decode's bit for bit, and the centre crop's render equals what the full
// decode + PIL bicubic gave before the region existed. Tolerance: none (max |diff| must be 0).
#include <gtest/gtest.h>

#include <jpeglib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
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

namespace fs = std::filesystem;

// The worst difference seen over a test, and where.
struct Worst {
  int diff = 0;
  std::string where = "none";
  void see(int d, const std::string& w) {
    if (d > diff || (d < 0 && diff >= 0)) {
      diff = d;
      where = w;
    }
  }
};

// Decodes `bytes` whole and with a region of `want` (output pixels; may be clipped by the decoder), and records the
// max |diff| inside want (clipped to the image) into *worst; -1 when the region decode failed or misses a pixel.
void check_region(const std::string& bytes, const kd::JpegDirectOptions& base, const kd::PixelRect& want,
                  const std::string& label, Worst* worst) {
  kd::RgbImage full, part;
  kd::JpegDecodeInfo full_info, part_info;
  ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), base, &full, &full_info)) << label;
  ASSERT_EQ(full_info.block.x0, 0) << label;
  ASSERT_EQ(full_info.block.width(), full.width) << label;
  ASSERT_EQ(full_info.width, full.width) << label;
  ASSERT_EQ(full_info.height, full.height) << label;
  kd::JpegDirectOptions jo = base;
  jo.region = want;
  if (!kd::decode_jpeg_direct(bytes.data(), bytes.size(), jo, &part, &part_info)) {
    worst->see(-1, label + ": region decode refused");
    return;
  }
  const kd::PixelRect& b = part_info.block;
  ASSERT_EQ(b.width(), part.width) << label;
  ASSERT_EQ(b.height(), part.height) << label;
  ASSERT_EQ(part.rgb.size(), static_cast<size_t>(part.width) * part.height * 3) << label;
  const int x0 = std::max(want.x0, 0), y0 = std::max(want.y0, 0);
  const int x1 = std::min(want.x1, full.width), y1 = std::min(want.y1, full.height);
  if (b.x0 > x0 || b.y0 > y0 || b.x1 < x1 || b.y1 < y1 || b.x0 < 0 || b.y0 < 0 || b.x1 > full.width ||
      b.y1 > full.height) {
    worst->see(-1, label + ": block does not hold the rectangle");
    return;
  }
  int d = 0;
  std::string where;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x)
      for (int c = 0; c < 3; ++c) {
        const int a = full.rgb[(static_cast<size_t>(y) * full.width + x) * 3 + c];
        const int p = part.rgb[(static_cast<size_t>(y - b.y0) * part.width + (x - b.x0)) * 3 + c];
        if (std::abs(a - p) > d) {
          d = std::abs(a - p);
          where = " x=" + std::to_string(x) + " y=" + std::to_string(y) + " c=" + std::to_string(c);
        }
      }
  worst->see(d, label + where);
}

// The fast mode's DCT scale for the centre crop of a JPEG (the smallest M/8 keeping the short side >= resolution).
int centre_scale(const std::string& bytes, int resolution) {
  kd::JpegHeader h;
  EXPECT_TRUE(kd::read_jpeg_header(bytes.data(), bytes.size(), 0, &h));
  return kd::jpeg_scale_eighths_for(h.width, h.height, resolution);
}

// The centre crop's render as it was computed before the region decode: the whole JPEG decoded, then PIL's
// bicubic window of it (kFast: at the DCT scale, with the full-size geometry).
std::vector<float> clip_before(const std::string& path, int resolution, kd::ResizeMode mode) {
  std::vector<float> out(3 * static_cast<size_t>(resolution) * resolution);
  if (mode == kd::ResizeMode::kExact) {
    const kd::RgbImage img = kd::decode_image(path);
    kd::render_image(img, kd::center_crop_view(img.width, img.height, resolution), mode, resolution, out.data());
    return out;
  }
  const std::string bytes = kd::read_file(path);
  kd::JpegDirectOptions jo;
  jo.scale_eighths = centre_scale(bytes, resolution);
  kd::RgbImage img;
  kd::JpegDecodeInfo info;
  EXPECT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), jo, &img, &info)) << path;
  const kd::ClipGeometry g = kd::clip_geometry(info.source_width, info.source_height, resolution);
  const double f = info.scale_eighths / 8.0;
  const float box[4] = {0.0f, 0.0f, static_cast<float>(info.source_width * f),
                        static_cast<float>(info.source_height * f)};
  std::vector<uint8_t> crop(static_cast<size_t>(resolution) * resolution * 3);
  kd::pil_resize_bicubic(kd::RgbView{img.rgb.data(), img.width, img.height, img.width * 3}, box, g.resized_width,
                         g.resized_height, g.crop_left, g.crop_top, resolution, resolution, crop.data());
  kd::normalize_clip(crop.data(), resolution, resolution, out.data());
  return out;
}

// Records max |before - now| of the centre crop's render (normalised units) into *worst_diff / *worst_where.
void check_clip_file(const std::string& path, int resolution, double* worst_diff, std::string* worst_where) {
  for (kd::ResizeMode mode : {kd::ResizeMode::kExact, kd::ResizeMode::kFast}) {
    const std::vector<float> before = clip_before(path, resolution, mode);
    std::vector<float> now(before.size());
    kd::render(path, kd::ViewSpec::centre_crop(), mode, resolution, now.data());
    for (size_t i = 0; i < now.size(); ++i) {
      const double d = std::abs(static_cast<double>(now[i]) - before[i]);
      if (d > *worst_diff || (now[i] != before[i] && *worst_diff == 0)) {
        *worst_diff = std::max(d, 1e-30);
        const size_t plane = static_cast<size_t>(resolution) * resolution;
        *worst_where = path + (mode == kd::ResizeMode::kExact ? " exact" : " fast") + " res " +
                       std::to_string(resolution) + " c=" + std::to_string(i / plane) +
                       " y=" + std::to_string(i % plane / resolution) + " x=" + std::to_string(i % resolution);
      }
    }
  }
}

// What the renderer asks the decoder for at this scale for the centre crop (the same rule, restated).
kd::PixelRect clip_rect(const kd::JpegDecodeInfo& d, int resolution, bool fast) {
  const kd::ClipGeometry g = kd::clip_geometry(d.source_width, d.source_height, resolution);
  const double f = d.scale_eighths / 8.0;
  const float box[4] = {0.0f, 0.0f, fast ? static_cast<float>(d.source_width * f) : static_cast<float>(d.width),
                        fast ? static_cast<float>(d.source_height * f) : static_cast<float>(d.height)};
  return kd::pil_resize_source_rect(d.width, d.height, box, g.resized_width, g.resized_height, g.crop_left,
                                    g.crop_top, resolution, resolution);
}

kd::JpegDecodeInfo header_geometry(const std::string& bytes, const kd::JpegDirectOptions& jo) {
  kd::RgbImage img;
  kd::JpegDecodeInfo info;
  EXPECT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), jo, &img, &info));
  return info;
}

// A JPEG written with libjpeg: w x h, 1 or 3 components, luma sampling factors h_samp x v_samp (chroma 1x1),
// restart marker every `restart_rows` MCU rows (0 = none), baseline or progressive. The pixels are a busy pattern
// (gradients, sharp colour edges and pseudo-random noise) so chroma upsampling differences would show.
std::string encode_jpeg(int w, int h, int components, int h_samp, int v_samp, int restart_rows, bool progressive) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * components);
  uint32_t state = 12345u + static_cast<uint32_t>(w * 31 + h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < components; ++c) {
        state = state * 1664525u + 1013904223u;
        const int edge = ((x / 5 + y / 7 + c) % 3 == 0) ? 120 : 0;
        const int v = (x * (3 + c) + y * (5 - c)) % 200 + edge / 2 + static_cast<int>(state >> 28);
        px[(static_cast<size_t>(y) * w + x) * components + c] = static_cast<uint8_t>(std::min(v, 255));
      }
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* mem = nullptr;
  unsigned long mem_size = 0;
  jpeg_mem_dest(&cinfo, &mem, &mem_size);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = components;
  cinfo.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 85, TRUE);
  if (components == 3) {
    cinfo.comp_info[0].h_samp_factor = h_samp;
    cinfo.comp_info[0].v_samp_factor = v_samp;
    for (int c = 1; c < 3; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  }
  cinfo.restart_in_rows = restart_rows;
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = &px[static_cast<size_t>(cinfo.next_scanline) * w * components];
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(mem), mem_size);
  std::free(mem);
  return out;
}

// Every coco-mini JPEG, exact (full size) and fast (DCT-scaled) geometry at 224 px: region pixels equal the full
// decode's inside the rectangle the resize reads, and the centre crop's render is unchanged.
TEST(JpegRegion, CocoMiniRegionEqualsFullDecodeAndClipOutputUnchanged) {
  KD_REQUIRE_SHARED(shared);
  const std::vector<std::string> files = kd::test::coco_mini_jpegs(shared);
  ASSERT_GE(files.size(), 150u);
  Worst worst;
  double clip_worst = 0;
  std::string clip_where = "none";
  int64_t decoded = 0, full = 0;
  for (const std::string& f : files) {
    const std::string bytes = kd::read_file(f);
    for (bool fast : {false, true}) {
      kd::JpegDirectOptions jo;
      if (fast) jo.scale_eighths = centre_scale(bytes, kd::kClipResolution);
      const kd::JpegDecodeInfo g = header_geometry(bytes, jo);
      const kd::PixelRect want = clip_rect(g, kd::kClipResolution, fast);
      check_region(bytes, jo, want, f + (fast ? " fast" : " exact"), &worst);
      if (!fast) {
        kd::JpegDirectOptions ro = jo;
        ro.region = want;
        kd::RgbImage part;
        kd::JpegDecodeInfo pi;
        ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), ro, &part, &pi));
        decoded += static_cast<int64_t>(part.width) * part.height;
        full += static_cast<int64_t>(g.width) * g.height;
      }
    }
    check_clip_file(f, kd::kClipResolution, &clip_worst, &clip_where);
  }
  std::cout << files.size() << " coco-mini JPEGs: region vs full decode max |diff| = " << worst.diff << " at "
            << worst.where << "; centre-crop render (exact, fast) vs before max |diff| = " << clip_worst
            << " at " << clip_where << "; exact-mode pixels decoded " << 100.0 * decoded / full << "% of full\n";
  EXPECT_EQ(worst.diff, 0) << "at " << worst.where;
  EXPECT_EQ(clip_worst, 0) << "at " << clip_where;
}

// Synthetic JPEGs at awkward sizes and samplings, many rectangles and DCT scales, and the centre crop's render.
TEST(JpegRegion, SyntheticSamplingsSizesAndRestartMarkers) {
  struct Case {
    int w, h, components, hs, vs, restart;
    bool progressive;
  };
  const std::vector<Case> cases = {
      {640, 480, 3, 2, 2, 0, false},  {480, 640, 3, 2, 2, 0, false}, {333, 251, 3, 2, 2, 0, false},
      {333, 251, 3, 2, 1, 0, false},  {333, 251, 3, 1, 1, 0, false}, {333, 251, 1, 1, 1, 0, false},
      {251, 333, 3, 1, 2, 0, false},  {1000, 50, 3, 2, 2, 0, false}, {50, 1000, 3, 2, 2, 0, false},
      {1000, 50, 3, 2, 1, 0, false},  {50, 1000, 1, 1, 1, 0, false}, {17, 9, 3, 2, 2, 0, false},
      {9, 17, 3, 2, 1, 0, false},     {17, 9, 1, 1, 1, 0, false},    {401, 299, 3, 2, 2, 1, false},
      {299, 401, 3, 2, 1, 3, false},  {401, 299, 3, 2, 2, 0, true},  {299, 401, 3, 2, 2, 2, true},
      {299, 401, 1, 1, 1, 1, false},
  };
  kd::test::TempDir dir("kd-jpeg-region");
  Worst worst;
  double clip_worst = 0;
  std::string clip_where = "none";
  int n = 0;
  for (const Case& c : cases) {
    const std::string bytes = encode_jpeg(c.w, c.h, c.components, c.hs, c.vs, c.restart, c.progressive);
    const std::string name = std::to_string(c.w) + "x" + std::to_string(c.h) + " comps " +
                             std::to_string(c.components) + " samp " + std::to_string(c.hs) + "x" +
                             std::to_string(c.vs) + " restart " + std::to_string(c.restart) +
                             (c.progressive ? " progressive" : "");
    for (int m : {8, 7, 5, 4, 3, 2, 1}) {
      {
        kd::JpegDirectOptions jo;
        jo.scale_eighths = m;
        const kd::JpegDecodeInfo g = header_geometry(bytes, jo);
        const int W = g.width, H = g.height;
        // Rectangles: interior at odd offsets, touching each edge, one pixel, the whole image, past the image.
        const std::vector<kd::PixelRect> rects = {
            {W / 3 + 1, H / 3 + 1, 2 * W / 3 + 1, 2 * H / 3 + 1},
            {0, H / 4, W / 2 + 3, H},
            {W / 5 + 7, 0, W, H / 2 + 5},
            {W / 2, H / 2, W / 2 + 1, H / 2 + 1},
            {0, 0, W, H},
            {-5, -5, W + 9, H + 9},
            {W - 1, H - 1, W, H},
            {17, 33, std::min(W, 17 + 19), std::min(H, 33 + 23)},
        };
        for (size_t r = 0; r < rects.size(); ++r) {
          check_region(bytes, jo, rects[r],
                       name + " scale " + std::to_string(m) + "/8 rect " +
                           std::to_string(r),
                       &worst);
          ++n;
        }
      }
    }
    const fs::path path = dir / ("c" + std::to_string(&c - cases.data()) + ".jpg");
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    for (int res : {224, 64, 8}) check_clip_file(path.string(), res, &clip_worst, &clip_where);
  }
  std::cout << cases.size() << " synthetic JPEGs, " << n << " (scale, rectangle) decodes: region vs full max |diff| = "
            << worst.diff << " at " << worst.where << "; centre-crop render vs before max |diff| = " << clip_worst
            << " at " << clip_where << "\n";
  EXPECT_EQ(worst.diff, 0) << "at " << worst.where;
  EXPECT_EQ(clip_worst, 0) << "at " << clip_where;
}

// A file cut short below the rectangle still falls back (returns false) with a region, as without one: the decoder
// only stops early when the data ends with an EOI marker.
TEST(JpegRegion, TruncatedFileStillRefused) {
  const std::string bytes = encode_jpeg(200, 400, 3, 2, 2, 0, false);
  const std::string cut = bytes.substr(0, bytes.size() * 3 / 4);
  kd::JpegDirectOptions jo;
  kd::RgbImage img;
  EXPECT_FALSE(kd::decode_jpeg_direct(cut.data(), cut.size(), jo, &img));
  jo.region = kd::PixelRect{10, 10, 50, 50};
  EXPECT_FALSE(kd::decode_jpeg_direct(cut.data(), cut.size(), jo, &img));
  // The whole file with the same region: decodes, and only down to row 50.
  kd::JpegDecodeInfo info;
  ASSERT_TRUE(kd::decode_jpeg_direct(bytes.data(), bytes.size(), jo, &img, &info));
  EXPECT_EQ(info.block.y1, 50);
  EXPECT_LE(info.block.y0, 10);
  EXPECT_LE(info.block.x0, 10);
  EXPECT_GE(info.block.x1, 50);
  EXPECT_LT(info.block.x1, 200);
}

// The resize reads only pil_resize_source_rect's rectangle: a view holding just that block gives the same bytes as
// the whole image, and a view missing a needed pixel is an error, not a wrong read.
TEST(JpegRegion, ResizeFromOffsetViewEqualsWholeImage) {
  const int w = 97, h = 61;
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 37 + i / 7) % 251);
  const float box[4] = {0.0f, 0.0f, static_cast<float>(w), static_cast<float>(h)};
  const int out_w = 50, out_h = 31, wx = 9, wy = 5, ww = 20, wh = 17;
  std::vector<uint8_t> whole(static_cast<size_t>(ww) * wh * 3), part(whole.size());
  kd::pil_resize_bicubic(kd::RgbView{px.data(), w, h, w * 3}, box, out_w, out_h, wx, wy, ww, wh, whole.data());
  const kd::PixelRect r = kd::pil_resize_source_rect(w, h, box, out_w, out_h, wx, wy, ww, wh);
  ASSERT_FALSE(r.empty());
  ASSERT_TRUE(r.x0 > 0 && r.y0 > 0 && r.x1 < w && r.y1 < h) << r.x0 << " " << r.y0 << " " << r.x1 << " " << r.y1;
  std::vector<uint8_t> block(static_cast<size_t>(r.width()) * r.height() * 3);
  for (int y = r.y0; y < r.y1; ++y)
    std::memcpy(&block[static_cast<size_t>(y - r.y0) * r.width() * 3], &px[(static_cast<size_t>(y) * w + r.x0) * 3],
                static_cast<size_t>(r.width()) * 3);
  const kd::RgbView view{block.data(), r.width(), r.height(), r.width() * 3, r.x0, r.y0, w, h};
  kd::pil_resize_bicubic(view, box, out_w, out_h, wx, wy, ww, wh, part.data());
  EXPECT_EQ(part, whole);
  const kd::RgbView short_view{block.data(), r.width() - 1, r.height(), r.width() * 3, r.x0, r.y0, w, h};
  EXPECT_THROW(kd::pil_resize_bicubic(short_view, box, out_w, out_h, wx, wy, ww, wh, part.data()), kd::Error);
}

}  // namespace
