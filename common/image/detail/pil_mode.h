// The PIL image mode Pillow 9.4's Image.open gives a file, read from the container's own header where libvips's
// decoded bands do not tell it (a palette PNG comes out of libvips as RGB, a 16-bit grey TIFF looks like a 16-bit
// grey PNG, ...). OpenAI's transform resizes in that mode, so exact rendering needs it (docs/image_modes.md).
//
// What each container says (Pillow 9.4's plugins):
//   PNG  (IHDR colour type, bit depth): 0 -> "1" (1 bit), "I" (16 bit), else "L"; 2 -> RGB; 3 -> P; 4 -> LA;
//        6 -> RGBA. A tRNS chunk (which libvips turns into an alpha band) does not change the mode.
//   TIFF (IFD 0): photometric 3 (palette) -> P, or PA with an extra sample (and its ColorMap); grey 1 bit -> "1"; grey 16 bit ->
//        "I;16"; RGB with an unspecified extra sample -> RGBX (resized as 4 bands, converted like RGB).
//   BMP  (<= 8 bits per pixel): P, unless the palette is exactly black/white (2 colours: "1") or the grey ramp
//        0, 1, 2, ... ("L").
//   GIF  (first frame): P, unless the palette in use is the grey ramp 0, 1, 2, ... ("L"); its transparency index
//        keeps its palette colour in convert("RGB").
// Anything else (and every container for what these do not settle) takes its mode from the decoded layout.
// YCbCr has no member: Pillow 9.4 opens YCbCr JPEGs and TIFFs as RGB, and only its own IM format (which libvips
// does not read) as YCbCr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kd {

enum class PilMode { k1, kL, kLA, kP, kPA, kRGB, kRGBX, kRGBA, kCMYK, kI16, kI, kF };

// Pillow's name of the mode ("1", "L", ..., "I;16", "F").
const char* pil_mode_name(PilMode mode);

// What a container's header says that the decoded bands do not.
struct ContainerMode {
  PilMode mode = PilMode::kRGB;
  // GIF with a transparency index on its first frame: the colour Pillow's convert("RGB") gives those pixels (the
  // palette entry; libvips's GIF decoder gives them (0, 0, 0) with alpha 0).
  bool has_transparent_rgb = false;
  uint8_t transparent_rgb[3] = {0, 0, 0};
  // Palette TIFF (P, PA): its ColorMap as Pillow reads it, [entries, 3] uint8 (16-bit values >> 8); empty otherwise.
  std::vector<uint8_t> palette;
};

// The mode the container's header gives the file, or nullopt when the file is not PNG / TIFF / BMP / GIF or the
// header leaves it to the decoded layout (e.g. an 8-bit RGB TIFF). Reads only headers; never throws for a short
// or odd file (nullopt: the decoder then reports what is wrong).
std::optional<ContainerMode> container_pil_mode(const std::string& path);

}  // namespace kd
