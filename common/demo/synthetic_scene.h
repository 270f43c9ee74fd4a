// Procedural scenes for the offline demo: 1-2 groups of 1-3 coloured shapes on a plain background, placed in named
// regions, sampled from an explicit RNG and drawn with libvips (draw_circle, draw_rect, draw_mask for polygons).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/demo/demo_rng.h"

namespace kd::demo {

enum class Shape { kCircle, kSquare, kTriangle, kDiamond, kStar, kCross };
enum class Region { kLeft, kRight, kTop, kBottom, kCenter };

struct NamedColour {
  const char* name;
  uint8_t r, g, b;
};

// The vocabularies scenes are drawn from (index = the value stored in a scene).
const std::vector<Shape>& all_shapes();
const std::vector<Region>& all_regions();
const std::vector<NamedColour>& object_colours();      // red, green, blue, yellow, orange, purple, pink, brown
const std::vector<NamedColour>& background_colours();  // white, black, gray
const char* shape_name(Shape shape);                   // "circle", "square", ...
const char* region_name(Region region);                // "left", "right", "top", "bottom", "center"

struct PlacedObject {
  float cx = 0, cy = 0;  // pixels, centre
  float radius = 0;      // pixels, half the extent
  uint8_t rgb[3] = {};   // the drawn colour (the named colour, jittered a little)
};

// Objects that share shape, colour, size and region: "two large red circles on the left".
struct ShapeGroup {
  Shape shape = Shape::kCircle;
  int colour = 0;  // index into object_colours()
  bool large = false;
  Region region = Region::kCenter;
  std::vector<PlacedObject> objects;  // count = objects.size(), 1..3
};

struct Scene {
  int size = 0;        // pixels, square image side
  int background = 0;  // index into background_colours()
  uint8_t background_rgb[3] = {};
  std::vector<ShapeGroup> groups;  // 1..2; groups differ in region and in (shape, colour)
};

// Samples a scene of `size` x `size` pixels (size >= 32) with 1..`max_groups` groups (1 or 2; two with probability
// 1/2). Objects never overlap. Deterministic for the rng state.
Scene sample_scene(DemoRng& rng, int size, int max_groups = 2);

// A scene of one group whose colour is object_colours()[colour] (shape, size, count, region and background random):
// a single-label image for the demo's zero-shot classification (the demo teacher tells colours apart far better than
// shapes: measured at seed 0 with the teacher of 2000 images, 93 % top-1 over 8 colours, chance 12.5 %; its
// text->image top-1 gets the colours of a caption right 73 % of the time, the shapes 16 %: bench/demo_ceiling.py;
// the teacher that also trains on DIR/pretrain reaches 95-98 % top-1 over seeds 0-2).
Scene sample_single_colour_scene(DemoRng& rng, int size, int colour);

// Draws a scene with libvips and encodes it as PNG (bytes). Deterministic for a scene and a libvips version.
std::string render_scene_png(const Scene& scene);

}  // namespace kd::demo
