// Image decoding with libvips into PIL-equivalent 8-bit RGB (see image_decode.h for the conversion table).
#include "common/image/image_decode.h"

#include <vips/vips8>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "common/image/jpeg_decode.h"
#include "common/util/error.h"
#include "common/util/library_warnings.h"

namespace kd {
namespace {

using vips::VError;
using vips::VImage;

std::string vips_reason(const std::string& fallback) {
  std::string reason = vips_error_buffer();
  vips_error_clear();
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  return reason.empty() ? fallback : reason;
}

// PIL's MULDIV255: a * b / 255 rounded, computed the way Convert.c does it.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

inline uint8_t clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Brings any decoded image to uchar with PIL's rules for bit depth; keeps the band count.
VImage to_uchar_like_pil(VImage img) {
  const VipsBandFormat format = img.format();
  if (format == VIPS_FORMAT_UCHAR) return img;
  if (format == VIPS_FORMAT_USHORT && img.bands() != 1) {
    // PIL unpacks 16-bit RGB / RGBA / LA with the ";16B" raw modes: high byte.
    return img.cast(VIPS_FORMAT_UCHAR, VImage::option()->set("shift", true));
  }
  // 16-bit gray (PIL mode "I") and every other format: values clipped to 0..255 (vips_cast clamps).
  return img.cast(VIPS_FORMAT_UCHAR);
}

// Copies the pixels out (this is where libvips decodes) and applies PIL's band conversion.
RgbImage to_rgb_like_pil(VImage img) {
  img = to_uchar_like_pil(img);
  const int bands = img.bands();
  const bool cmyk = img.interpretation() == VIPS_INTERPRETATION_CMYK && bands >= 4;
  const int keep = cmyk ? 4 : (bands >= 3 ? 3 : 1);
  if (bands != keep) img = img.extract_band(0, VImage::option()->set("n", keep));

  size_t size = 0;
  void* mem = img.write_to_memory(&size);
  RgbImage out;
  out.width = img.width();
  out.height = img.height();
  const size_t n = static_cast<size_t>(out.width) * out.height;
  out.rgb.resize(n * 3);
  const uint8_t* src = static_cast<const uint8_t*>(mem);
  uint8_t* dst = out.rgb.data();
  if (keep == 3) {
    std::memcpy(dst, src, n * 3);
  } else if (keep == 1) {
    for (size_t i = 0; i < n; ++i) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
  } else {
    // PIL's cmyk2rgb: nk = 255 - K; channel = nk - muldiv255(ink, nk).
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* p = src + 4 * i;
      const int nk = 255 - p[3];
      dst[3 * i + 0] = clip8(nk - muldiv255(p[0], nk));
      dst[3 * i + 1] = clip8(nk - muldiv255(p[1], nk));
      dst[3 * i + 2] = clip8(nk - muldiv255(p[2], nk));
    }
  }
  g_free(mem);
  return out;
}

vips::VOption* load_options(int shrink) {
  // Sequential access: decode streams top to bottom. fail_on truncated: PIL refuses truncated files too.
  auto* opt = VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL)->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
  if (shrink > 1) opt->set("shrink", shrink);
  return opt;
}

bool is_jpeg_loader(const VImage& img) {
  if (vips_image_get_typeof(img.get_image(), "vips-loader") == 0) return false;
  const std::string loader = img.get_string("vips-loader");
  return loader.rfind("jpegload", 0) == 0;
}

void check_shrink(int shrink, const std::string& name) {
  if (shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8)
    throw Error("invalid JPEG shrink-on-load factor").file(name).expected("1, 2, 4 or 8").got(std::to_string(shrink));
}

void check_pixels(const VImage& img, const DecodeOptions& options, const std::string& name) {
  const uint64_t pixels = static_cast<uint64_t>(img.width()) * static_cast<uint64_t>(img.height());
  if (options.max_pixels != 0 && pixels > options.max_pixels)
    throw Error("image has too many pixels")
        .file(name)
        .expected("at most " + std::to_string(options.max_pixels) + " pixels (--max-pixels)")
        .got(std::to_string(img.width()) + "x" + std::to_string(img.height()) + " = " + std::to_string(pixels))
        .hint("raise --max-pixels or drop the image");
}

// The libvips shrink for jpeg_min_short_side (see DecodeOptions).
int fallback_shrink(const VImage& img, const DecodeOptions& options) {
  if (options.jpeg_min_short_side <= 0) return options.jpeg_shrink;
  const int short_side = std::min(img.width(), img.height());
  for (int s : {8, 4, 2})
    if (short_side / s >= options.jpeg_min_short_side) return s;
  return 1;
}

// The direct libjpeg path; false when it does not handle these bytes (the caller then uses libvips).
bool decode_direct(const void* data, size_t size, const DecodeOptions& options, RgbImage* out) {
  if (!options.jpeg_direct || !looks_like_jpeg(data, size)) return false;
  JpegDirectOptions jo;
  jo.max_pixels = options.max_pixels;
  jo.scale_denom = options.jpeg_shrink;
  jo.min_short_side = options.jpeg_min_short_side;
  // jpeg_shrink: libvips's shrink-on-load size, so both paths give the same pixels. jpeg_min_short_side: libjpeg's
  // own (ceil) size, which jpeg_scale_eighths_for's rule is stated in.
  jo.floor_size = options.jpeg_min_short_side <= 0;
  return decode_jpeg_direct(data, size, jo, out);
}

// `open(shrink)` opens the image lazily (header only).
template <typename Open>
RgbImage decode_with(Open open, const DecodeOptions& options, const std::string& name) {
  ensure_vips_initialized();
  const WarningInputScope warning_input(name);
  try {
    VImage img = open(1);
    check_pixels(img, options, name);
    const int shrink = fallback_shrink(img, options);
    if (shrink > 1 && is_jpeg_loader(img)) img = open(shrink);
    return to_rgb_like_pil(img);
  } catch (const VError& e) {
    std::string reason = e.what();
    vips_error_clear();
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    throw Error("cannot decode image").file(name).got(reason.empty() ? "libvips gave no reason" : reason);
  }
}

}  // namespace

void ensure_vips_initialized() {
  static std::once_flag once;
  static bool ok = false;
  static std::string reason;
  std::call_once(once, [] {
    ok = VIPS_INIT("kd") == 0;
    if (!ok) reason = vips_reason("unknown reason");
    if (ok) route_glib_warnings("VIPS", "libvips");  // counted per kind, not printed per image
  });
  if (!ok) throw Error("libvips failed to initialise").got(reason);
}

ImageHeader read_image_header(const std::string& path) {
  ensure_vips_initialized();
  const WarningInputScope warning_input(path);
  try {
    VImage img = VImage::new_from_file(path.c_str(), load_options(1));
    return ImageHeader{img.width(), img.height(), is_jpeg_loader(img)};
  } catch (const VError& e) {
    vips_error_clear();
    throw Error("cannot read image header").file(path).got(e.what());
  }
}

RgbImage decode_image(const std::string& path, const DecodeOptions& options) {
  check_shrink(options.jpeg_shrink, path);
  std::string bytes;
  RgbImage direct;
  if (options.jpeg_direct && read_jpeg_file(path, &bytes) &&
      decode_direct(bytes.data(), bytes.size(), options, &direct))
    return direct;
  return decode_with(
      [&](int shrink) { return VImage::new_from_file(path.c_str(), load_options(shrink)); }, options, path);
}

RgbImage decode_image_buffer(const void* data, size_t size, const std::string& name, const DecodeOptions& options) {
  check_shrink(options.jpeg_shrink, name);
  RgbImage direct;
  if (decode_direct(data, size, options, &direct)) return direct;
  return decode_with(
      [&](int shrink) { return VImage::new_from_buffer(data, size, "", load_options(shrink)); }, options, name);
}

}  // namespace kd
