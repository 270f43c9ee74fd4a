// Image decoding with libvips into PIL's modes and PIL-equivalent 8-bit RGB (see image_decode.h for the table).
#include "common/image/detail/image_decode.h"

#include <vips/vips8>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/image/detail/jpeg_decode.h"
#include "common/image/detail/pil_convert.h"
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

// The PIL mode the decoded layout implies when the container's header does not settle it (detail/pil_mode.h).
PilMode layout_mode(const VImage& img) {
  const VipsBandFormat format = img.format();
  const int bands = img.bands();
  if (bands == 1 && format != VIPS_FORMAT_UCHAR && format != VIPS_FORMAT_CHAR)
    return (format == VIPS_FORMAT_FLOAT || format == VIPS_FORMAT_DOUBLE) ? PilMode::kF : PilMode::kI;
  if (img.interpretation() == VIPS_INTERPRETATION_CMYK && bands >= 4) return PilMode::kCMYK;
  if (bands == 1) return PilMode::kL;
  if (bands == 2) return PilMode::kLA;
  return bands == 3 ? PilMode::kRGB : PilMode::kRGBA;
}

int mode_channels(PilMode mode) {
  switch (mode) {
    case PilMode::kLA: case PilMode::kPA: return 2;
    case PilMode::kP: case PilMode::kRGB: return 3;
    case PilMode::kRGBX: case PilMode::kRGBA: case PilMode::kCMYK: return 4;
    default: return 1;
  }
}

// Brings decoded bands to uchar with PIL's rules for bit depth (16-bit: high byte, as the ";16B" raw modes;
// anything else clipped to 0..255).
VImage to_uchar_like_pil(VImage img) {
  const VipsBandFormat format = img.format();
  if (format == VIPS_FORMAT_UCHAR) return img;
  if (format == VIPS_FORMAT_USHORT) return img.cast(VIPS_FORMAT_UCHAR, VImage::option()->set("shift", true));
  return img.cast(VIPS_FORMAT_UCHAR);
}

// The decoded bands as `channels` 8-bit samples per pixel: extra bands dropped (a tRNS alpha where the mode has
// none), a grey source replicated into colour (+ its alpha, else 255) where the mode wants colour.
VImage select_bands(VImage img, int channels) {
  const int bands = img.bands();
  if (bands == channels) return img;
  if (bands > channels) return img.extract_band(0, VImage::option()->set("n", channels));
  VImage grey = img.extract_band(0);
  const VImage alpha =
      (bands == 2 ? img.extract_band(1) : VImage::black(img.width(), img.height()) + 255).cast(VIPS_FORMAT_UCHAR);
  if (bands >= 3) return img.bandjoin(alpha);  // 3 -> 4
  if (channels == 2) return grey.bandjoin(alpha);
  VImage colour = grey.bandjoin(grey).bandjoin(grey);
  return channels == 3 ? colour : colour.bandjoin(alpha);
}

// PA: the palette index of every pixel's colour (rgba: [n, 4] uint8) and its alpha, into pa ([n, 2] uint8). False
// when a colour of the image has no index or several (the index cannot be known).
bool palette_indices(const uint8_t* rgba, size_t n, const std::vector<uint8_t>& palette, std::vector<uint8_t>* pa) {
  std::unordered_map<uint32_t, int> index;  // colour -> index; -1: several
  for (size_t i = 0; 3 * i + 2 < palette.size() && i < 256; ++i) {
    const auto [it, fresh] =
        index.emplace((palette[3 * i] << 16) | (palette[3 * i + 1] << 8) | palette[3 * i + 2], static_cast<int>(i));
    if (!fresh) it->second = -1;
  }
  pa->resize(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = rgba + 4 * i;
    const auto it = index.find((p[0] << 16) | (p[1] << 8) | p[2]);
    if (it == index.end() || it->second < 0) return false;
    const int k = it->second;
    (*pa)[2 * i] = static_cast<uint8_t>(k);
    (*pa)[2 * i + 1] = p[3];
  }
  return true;
}

// Copies the pixels out (this is where libvips decodes) in the file's PIL mode.
PilImage to_pil_image(VImage img, const std::optional<ContainerMode>& container) {
  PilImage out;
  out.mode = container ? container->mode : layout_mode(img);
  if (container && container->has_transparent_rgb && img.bands() == 4 && img.format() == VIPS_FORMAT_UCHAR) {
    // GIF: Pillow keeps the palette colour of transparent pixels; libvips made them (0, 0, 0), alpha 0.
    const std::vector<double> colour(container->transparent_rgb, container->transparent_rgb + 3);
    img = (img.extract_band(3) == 0)
              .ifthenelse(colour, img.extract_band(0, VImage::option()->set("n", 3)))
              .cast(VIPS_FORMAT_UCHAR);
  }
  out.width = img.width();
  out.height = img.height();
  out.channels = mode_channels(out.mode);
  const size_t n = static_cast<size_t>(out.width) * out.height;
  const bool wide = out.mode == PilMode::kI || out.mode == PilMode::kI16 || out.mode == PilMode::kF;
  if (wide) {
    img = img.extract_band(0).cast(out.mode == PilMode::kF ? VIPS_FORMAT_FLOAT : VIPS_FORMAT_INT);
  } else {
    img = select_bands(to_uchar_like_pil(img), out.mode == PilMode::kPA ? 4 : out.channels);
  }
  size_t size = 0;
  void* mem = img.write_to_memory(&size);
  if (out.mode == PilMode::kF) {
    out.f32.resize(n);
    std::memcpy(out.f32.data(), mem, std::min(size, n * sizeof(float)));
  } else if (wide) {
    out.i32.resize(n);
    std::memcpy(out.i32.data(), mem, std::min(size, n * sizeof(int32_t)));
  } else if (out.mode == PilMode::kPA) {  // colours back to indices, else colour + alpha
    const uint8_t* rgba = static_cast<const uint8_t*>(mem);
    if (size >= 4 * n && container && palette_indices(rgba, n, container->palette, &out.u8)) {
      out.palette = container->palette;
    } else {
      out.channels = 4;
      out.u8.assign(rgba, rgba + std::min(size, 4 * n));
    }
  } else {
    out.u8.resize(n * out.channels);
    std::memcpy(out.u8.data(), mem, std::min(size, out.u8.size()));
  }
  g_free(mem);
  return out;
}

vips::VOption* load_options() {
  // Sequential access: decode streams top to bottom. fail_on truncated: PIL refuses truncated files too.
  return VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL)->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
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

// The direct libjpeg path; false when it does not handle these bytes (the caller then uses libvips).
bool decode_direct(const void* data, size_t size, const DecodeOptions& options, RgbImage* out) {
  if (!options.jpeg_direct || !looks_like_jpeg(data, size)) return false;
  JpegDirectOptions jo;
  jo.max_pixels = options.max_pixels;
  return decode_jpeg_direct(data, size, jo, out);
}

// `open()` opens the image lazily (header only).
template <typename Open>
PilImage decode_with(Open open, const DecodeOptions& options, const std::string& name) {
  ensure_vips_initialized();
  const WarningInputScope warning_input(name);
  try {
    VImage img = open();
    check_pixels(img, options, name);
    return to_pil_image(img, container_pil_mode(name));
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

RgbImage decode_image(const std::string& path, const DecodeOptions& options) {
  std::string bytes;
  RgbImage direct;
  if (options.jpeg_direct && read_jpeg_file(path, &bytes) &&
      decode_direct(bytes.data(), bytes.size(), options, &direct))
    return direct;
  return pil_convert_rgb(decode_pil_image(path, options));
}

PilImage decode_pil_image(const std::string& path, const DecodeOptions& options) {
  return decode_with([&] { return VImage::new_from_file(path.c_str(), load_options()); }, options, path);
}

}  // namespace kd
