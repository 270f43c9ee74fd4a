// A half-open rectangle of pixels, [x0, x1) x [y0, y1): which part of an image a step reads or a decoder decodes.
#pragma once

namespace kd {

struct PixelRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // pixels; empty when x1 <= x0 or y1 <= y0
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

}  // namespace kd
