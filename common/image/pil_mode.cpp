// The PIL mode a container's header gives a file, as Pillow 9.4's plugins read it (see detail/pil_mode.h).
#include "common/image/detail/pil_mode.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

namespace kd {
namespace {

// Reads n bytes at offset; false when the file is shorter.
bool read_at(std::ifstream& f, uint64_t offset, size_t n, std::vector<uint8_t>* out) {
  out->assign(n, 0);
  f.clear();
  f.seekg(static_cast<std::streamoff>(offset));
  return n == 0 || static_cast<bool>(f.read(reinterpret_cast<char*>(out->data()), static_cast<std::streamsize>(n)));
}

uint32_t be32(const uint8_t* p) { return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (p[2] << 8) | p[3]; }
uint32_t le32(const uint8_t* p) { return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (p[1] << 8) | p[0]; }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

std::optional<PilMode> png_mode(const std::vector<uint8_t>& h) {
  // Signature (8), IHDR length (4), "IHDR", width (4), height (4), bit depth, colour type.
  if (h.size() < 26 || std::memcmp(&h[12], "IHDR", 4) != 0) return std::nullopt;
  const int depth = h[24], type = h[25];
  switch (type) {
    case 0: return depth == 1 ? PilMode::k1 : (depth == 16 ? PilMode::kI : PilMode::kL);
    case 2: return PilMode::kRGB;
    case 3: return PilMode::kP;
    case 4: return PilMode::kLA;
    case 6: return PilMode::kRGBA;
    default: return std::nullopt;
  }
}

// Pillow's BMP rule for palette images: "1" for a black/white 2-colour palette, "L" for the exact grey ramp.
std::optional<PilMode> bmp_mode(std::ifstream& f, const std::vector<uint8_t>& h) {
  if (h.size() < 26) return std::nullopt;
  const uint32_t header = le32(&h[14]);
  int bits = 0;
  uint32_t colours = 0;
  size_t entry = 4;  // palette entry bytes
  if (header == 12) {  // OS/2 BITMAPCOREHEADER
    bits = le16(&h[24]);
    entry = 3;
  } else if (header >= 40 && h.size() >= 50) {
    bits = le16(&h[28]);
    colours = le32(&h[46]);
  } else {
    return std::nullopt;
  }
  if (bits != 1 && bits != 4 && bits != 8) return std::nullopt;
  if (colours == 0) colours = 1u << bits;
  if (colours > 65536) return std::nullopt;
  std::vector<uint8_t> pal;
  if (!read_at(f, 14 + header, entry * colours, &pal)) return std::nullopt;
  bool grey = true;
  for (uint32_t i = 0; i < colours && grey; ++i) {
    const uint32_t want = colours == 2 ? (i == 0 ? 0 : 255) : i;  // BMP stores B, G, R
    const uint8_t* e = &pal[entry * i];
    grey = e[0] == want && e[1] == want && e[2] == want;
  }
  if (!grey) return PilMode::kP;
  return colours == 2 ? PilMode::k1 : PilMode::kL;
}

// Pillow's _is_palette_needed: anything but the grey ramp 0, 1, 2, ...
bool palette_needed(const std::vector<uint8_t>& p) {
  for (size_t i = 0; i + 2 < p.size(); i += 3)
    if (!(p[i] == i / 3 && p[i + 1] == i / 3 && p[i + 2] == i / 3)) return true;
  return false;
}

// GIF's first frame: P when the palette it uses (its local one, else the global one) is needed, else L; the
// colour of its transparency index (from the graphic control extension before it), if any.
std::optional<ContainerMode> gif_mode(std::ifstream& f) {
  std::vector<uint8_t> b, global, palette;
  if (!read_at(f, 0, 13, &b)) return std::nullopt;
  uint64_t at = 13;
  if (b[10] & 128) {
    if (!read_at(f, at, size_t{3} << ((b[10] & 7) + 1), &global)) return std::nullopt;
    at += global.size();
  }
  int transparent = -1;  // palette index
  for (int blocks = 0; blocks < 100000; ++blocks) {  // extensions before the first image descriptor
    if (!read_at(f, at, 1, &b)) return std::nullopt;
    if (b[0] == 0x2C) break;
    if (b[0] != 0x21) return std::nullopt;
    if (!read_at(f, at + 1, 1, &b)) return std::nullopt;
    const bool control = b[0] == 0xF9;
    at += 2;  // introducer, label; then sub-blocks until a zero length
    for (bool first = true;; first = false) {
      if (!read_at(f, at, 1, &b)) return std::nullopt;
      const int n = b[0];
      if (control && first && n >= 4 && read_at(f, at + 1, 4, &b)) transparent = (b[0] & 1) ? b[3] : -1;
      at += 1 + n;
      if (n == 0) break;
    }
  }
  // Image descriptor: 9 bytes after the separator, flags last; a local palette follows it.
  if (!read_at(f, at + 1, 9, &b)) return std::nullopt;
  if (b[8] & 128) {
    if (!read_at(f, at + 10, size_t{3} << ((b[8] & 7) + 1), &palette)) return std::nullopt;
  } else {
    palette = global;
  }
  ContainerMode m;
  m.mode = palette_needed(palette) ? PilMode::kP : PilMode::kL;
  if (transparent >= 0) {
    m.has_transparent_rgb = true;
    for (int k = 0; k < 3; ++k)
      m.transparent_rgb[k] = m.mode == PilMode::kP && 3 * static_cast<size_t>(transparent) + 2 < palette.size()
                                 ? palette[3 * transparent + k]
                                 : static_cast<uint8_t>(transparent);
  }
  return m;
}

struct TiffFields {
  int photometric = -1, samples = 1, bits = 1, extra = -1;  // TIFF defaults where a tag is absent
  uint32_t colormap_count = 0, colormap_offset = 0;  // ColorMap: SHORT values, all reds, greens, then blues
};

std::optional<ContainerMode> tiff_mode(std::ifstream& f, const std::vector<uint8_t>& h) {
  const bool le = h[0] == 'I';
  const auto u16 = [le](const uint8_t* p) { return le ? le16(p) : static_cast<uint16_t>((p[0] << 8) | p[1]); };
  const auto u32 = [le](const uint8_t* p) { return le ? le32(p) : be32(p); };
  std::vector<uint8_t> b;
  const uint32_t ifd = u32(&h[4]);
  if (!read_at(f, ifd, 2, &b)) return std::nullopt;
  const int n = u16(b.data());
  if (!read_at(f, ifd + 2, size_t{12} * n, &b)) return std::nullopt;
  TiffFields t;
  for (int i = 0; i < n; ++i) {
    const uint8_t* e = &b[size_t{12} * i];
    const int tag = u16(e), type = u16(e + 2);
    const uint32_t count = u32(e + 4);
    // The first value of a SHORT / LONG field: inline when it fits 4 bytes, else at the offset.
    uint32_t value = 0;
    const int width = type == 3 ? 2 : (type == 4 ? 4 : 0);
    if (width == 0 || count == 0) continue;
    if (size_t{count} * width <= 4) {
      value = width == 2 ? u16(e + 8) : u32(e + 8);
    } else {
      std::vector<uint8_t> v;
      if (!read_at(f, u32(e + 8), width, &v)) return std::nullopt;
      value = width == 2 ? u16(v.data()) : u32(v.data());
    }
    if (tag == 258) t.bits = static_cast<int>(value);
    if (tag == 262) t.photometric = static_cast<int>(value);
    if (tag == 277) t.samples = static_cast<int>(value);
    if (tag == 338) t.extra = static_cast<int>(value);
    if (tag == 320 && type == 3) {
      t.colormap_count = count;
      t.colormap_offset = u32(e + 8);
    }
  }
  ContainerMode m;
  if (t.photometric == 3) {
    m.mode = t.samples == 2 ? PilMode::kPA : PilMode::kP;
    const uint32_t n = t.colormap_count / 3;
    if (n > 0 && n <= 65536 && read_at(f, t.colormap_offset, size_t{6} * n, &b)) {
      m.palette.resize(size_t{3} * n);
      for (uint32_t i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k) m.palette[3 * i + k] = static_cast<uint8_t>(u16(&b[2 * (k * n + i)]) >> 8);
    }
    return m;
  }
  if ((t.photometric == 0 || t.photometric == 1) && t.samples == 1 && (t.bits == 1 || t.bits == 16)) {
    m.mode = t.bits == 1 ? PilMode::k1 : PilMode::kI16;
    return m;
  }
  if (t.photometric == 2 && t.samples == 4 && t.extra == 0) {
    m.mode = PilMode::kRGBX;
    return m;
  }
  return std::nullopt;
}

}  // namespace

const char* pil_mode_name(PilMode mode) {
  switch (mode) {
    case PilMode::k1: return "1";
    case PilMode::kL: return "L";
    case PilMode::kLA: return "LA";
    case PilMode::kP: return "P";
    case PilMode::kPA: return "PA";
    case PilMode::kRGB: return "RGB";
    case PilMode::kRGBX: return "RGBX";
    case PilMode::kRGBA: return "RGBA";
    case PilMode::kCMYK: return "CMYK";
    case PilMode::kI16: return "I;16";
    case PilMode::kI: return "I";
    case PilMode::kF: return "F";
  }
  return "?";
}

std::optional<ContainerMode> container_pil_mode(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> h;
  if (!f || !read_at(f, 0, 64, &h)) {
    // Shorter than 64 bytes: take what there is.
    f.clear();
    f.seekg(0);
    h.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  const auto plain = [](std::optional<PilMode> mode) -> std::optional<ContainerMode> {
    if (!mode) return std::nullopt;
    ContainerMode m;
    m.mode = *mode;
    return m;
  };
  if (h.size() >= 26 && std::memcmp(h.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return plain(png_mode(h));
  if (h.size() >= 8 && (std::memcmp(h.data(), "II*\0", 4) == 0 || std::memcmp(h.data(), "MM\0*", 4) == 0))
    return tiff_mode(f, h);
  if (h.size() >= 26 && h[0] == 'B' && h[1] == 'M') return plain(bmp_mode(f, h));
  if (h.size() >= 6 && (std::memcmp(h.data(), "GIF87a", 6) == 0 || std::memcmp(h.data(), "GIF89a", 6) == 0))
    return gif_mode(f);
  return std::nullopt;
}

}  // namespace kd
