// Scene sampling and libvips drawing for the demo's synthetic images (see synthetic_scene.h).
#include "common/demo/synthetic_scene.h"

#include <vips/vips8>

#include <algorithm>
#include <cmath>

#include "common/image/vips_init.h"
#include "common/util/error.h"

namespace kd::demo {

const std::vector<Shape>& all_shapes() {
  static const std::vector<Shape> v = {Shape::kCircle, Shape::kSquare, Shape::kTriangle,
                                       Shape::kDiamond, Shape::kStar,   Shape::kCross};
  return v;
}
const std::vector<Region>& all_regions() {
  static const std::vector<Region> v = {Region::kLeft, Region::kRight, Region::kTop, Region::kBottom, Region::kCenter};
  return v;
}
const std::vector<NamedColour>& object_colours() {
  static const std::vector<NamedColour> v = {{"red", 220, 30, 30},     {"green", 30, 160, 50},
                                             {"blue", 35, 70, 225},    {"yellow", 240, 215, 30},
                                             {"orange", 245, 135, 20}, {"purple", 135, 50, 180},
                                             {"pink", 250, 125, 195},  {"brown", 125, 75, 30}};
  return v;
}
const std::vector<NamedColour>& background_colours() {
  static const std::vector<NamedColour> v = {{"white", 245, 245, 245}, {"black", 15, 15, 15}, {"gray", 128, 128, 128}};
  return v;
}
const char* shape_name(Shape s) {
  switch (s) {
    case Shape::kCircle: return "circle";
    case Shape::kSquare: return "square";
    case Shape::kTriangle: return "triangle";
    case Shape::kDiamond: return "diamond";
    case Shape::kStar: return "star";
    case Shape::kCross: return "cross";
  }
  return "?";
}
const char* region_name(Region r) {
  switch (r) {
    case Region::kLeft: return "left";
    case Region::kRight: return "right";
    case Region::kTop: return "top";
    case Region::kBottom: return "bottom";
    case Region::kCenter: return "center";
  }
  return "?";
}

namespace {

// Where the centres of a region's objects may fall, as fractions of the image side: x0, x1, y0, y1.
void region_box(Region r, double box[4]) {
  static const double kBoxes[5][4] = {
      {0.00, 0.34, 0.15, 0.85},  // left
      {0.66, 1.00, 0.15, 0.85},  // right
      {0.15, 0.85, 0.00, 0.34},  // top
      {0.15, 0.85, 0.66, 1.00},  // bottom
      {0.36, 0.64, 0.36, 0.64},  // center
  };
  std::copy(kBoxes[static_cast<int>(r)], kBoxes[static_cast<int>(r)] + 4, box);
}

uint8_t jitter(uint8_t v, int amount, DemoRng& rng) {
  return static_cast<uint8_t>(std::clamp(static_cast<int>(v) + rng.between(-amount, amount), 0, 255));
}

// Tries to place `count` objects of `radius` in `region` without touching `placed`; false after too many tries.
bool place_group(ShapeGroup& group, int count, float radius, int size, DemoRng& rng, std::vector<PlacedObject>& placed) {
  double box[4];
  region_box(group.region, box);
  const NamedColour& c = object_colours()[static_cast<size_t>(group.colour)];
  for (int k = 0; k < count; ++k) {
    bool ok = false;
    for (int attempt = 0; attempt < 60 && !ok; ++attempt) {
      PlacedObject o;
      o.radius = radius * static_cast<float>(rng.uniform(0.9, 1.1));
      const double lo_x = std::max(box[0] * size, static_cast<double>(o.radius) + 1);
      const double hi_x = std::min(box[1] * size, size - static_cast<double>(o.radius) - 2);
      const double lo_y = std::max(box[2] * size, static_cast<double>(o.radius) + 1);
      const double hi_y = std::min(box[3] * size, size - static_cast<double>(o.radius) - 2);
      if (lo_x > hi_x || lo_y > hi_y) return false;
      o.cx = static_cast<float>(rng.uniform(lo_x, hi_x));
      o.cy = static_cast<float>(rng.uniform(lo_y, hi_y));
      ok = true;
      for (const PlacedObject& p : placed) {
        const float dx = p.cx - o.cx, dy = p.cy - o.cy;
        if (std::sqrt(dx * dx + dy * dy) < p.radius + o.radius + 2.0f) { ok = false; break; }
      }
      if (ok) {
        o.rgb[0] = jitter(c.r, 12, rng);
        o.rgb[1] = jitter(c.g, 12, rng);
        o.rgb[2] = jitter(c.b, 12, rng);
        placed.push_back(o);
        group.objects.push_back(o);
      }
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

namespace {

// One group (shape, colour, region, size, count drawn here) placed without overlap; its colour is `colour` when
// >= 0. A group that clashes with one of `s`'s groups is drawn again. False when the objects did not fit.
bool add_group(Scene& s, int colour, int size, DemoRng& rng, std::vector<PlacedObject>& placed) {
  ShapeGroup group;
  for (;;) {  // groups differ in (shape, colour) and in region
    group.shape = all_shapes()[static_cast<size_t>(rng.below(static_cast<int>(all_shapes().size())))];
    group.colour = colour >= 0 ? colour : rng.below(static_cast<int>(object_colours().size()));
    group.region = all_regions()[static_cast<size_t>(rng.below(static_cast<int>(all_regions().size())))];
    bool clash = false;
    for (const ShapeGroup& other : s.groups) {
      if (other.region == group.region || (other.shape == group.shape && other.colour == group.colour)) clash = true;
    }
    if (!clash) break;
  }
  group.large = rng.chance(0.5);
  const int count = 1 + rng.below(3);
  // radius: large objects span ~0.28 of the side, small ~0.18 (a group of three large ones shrinks a little). At
  // 64 px with 16-px patches, smaller objects left the demo teacher unable to tell shapes apart.
  float radius = static_cast<float>(size) * (group.large ? 0.14f : 0.09f);
  if (group.large && count == 3) radius *= 0.85f;
  const bool ok = place_group(group, count, radius, size, rng, placed);
  s.groups.push_back(std::move(group));
  return ok;
}

// A background drawn from `rng`; no groups yet.
Scene empty_scene(DemoRng& rng, int size) {
  if (size < 32) throw Error("scene size too small").expected(">= 32 pixels").got(std::to_string(size));
  Scene s;
  s.size = size;
  s.background = rng.below(static_cast<int>(background_colours().size()));
  const NamedColour& bg = background_colours()[static_cast<size_t>(s.background)];
  s.background_rgb[0] = jitter(bg.r, 8, rng);
  s.background_rgb[1] = jitter(bg.g, 8, rng);
  s.background_rgb[2] = jitter(bg.b, 8, rng);
  return s;
}

}  // namespace

Scene sample_scene(DemoRng& rng, int size, int max_groups) {
  if (max_groups < 1 || max_groups > 2) throw Error("groups per scene out of range").expected("1 or 2")
      .got(std::to_string(max_groups));
  for (;;) {  // resample until every object fits (almost always the first try)
    Scene s = empty_scene(rng, size);
    const int n_groups = max_groups == 1 || rng.chance(0.5) ? 1 : 2;
    std::vector<PlacedObject> placed;
    bool ok = true;
    for (int g = 0; g < n_groups && ok; ++g) ok = add_group(s, -1, size, rng, placed);
    if (ok) return s;
  }
}

Scene sample_single_colour_scene(DemoRng& rng, int size, int colour) {
  if (colour < 0 || colour >= static_cast<int>(object_colours().size()))
    throw Error("no such object colour").expected("0.." + std::to_string(object_colours().size() - 1))
        .got(std::to_string(colour));
  for (;;) {
    Scene s = empty_scene(rng, size);
    std::vector<PlacedObject> placed;
    if (add_group(s, colour, size, rng, placed)) return s;
  }
}

namespace {

// Filled polygon as a one-band mask [side, side] uchar (255 inside, even-odd rule at pixel centres).
vips::VImage polygon_mask(const std::vector<std::pair<float, float>>& pts, int side, std::vector<uint8_t>& buffer) {
  buffer.assign(static_cast<size_t>(side) * side, 0);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const float px = x + 0.5f, py = y + 0.5f;
      bool inside = false;
      for (size_t i = 0, j = pts.size() - 1; i < pts.size(); j = i++) {
        const auto [xi, yi] = pts[i];
        const auto [xj, yj] = pts[j];
        if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) inside = !inside;
      }
      if (inside) buffer[static_cast<size_t>(y) * side + x] = 255;
    }
  }
  return vips::VImage::new_from_memory(buffer.data(), buffer.size(), side, side, 1, VIPS_FORMAT_UCHAR);
}

void draw_object(vips::VImage& canvas, Shape shape, const PlacedObject& o) {
  const std::vector<double> ink = {static_cast<double>(o.rgb[0]), static_cast<double>(o.rgb[1]),
                                   static_cast<double>(o.rgb[2])};
  const float r = o.radius;
  const int cx = static_cast<int>(std::lround(o.cx)), cy = static_cast<int>(std::lround(o.cy));
  auto fill = [] { return vips::VImage::option()->set("fill", true); };
  switch (shape) {
    case Shape::kCircle:
      canvas.draw_circle(ink, cx, cy, static_cast<int>(std::lround(r)), fill());
      return;
    case Shape::kSquare: {
      const int half = static_cast<int>(std::lround(r * 0.85f));
      canvas.draw_rect(ink, cx - half, cy - half, 2 * half + 1, 2 * half + 1, fill());
      return;
    }
    case Shape::kCross: {
      const int half = static_cast<int>(std::lround(r)), arm = std::max(1, static_cast<int>(std::lround(r * 0.32f)));
      canvas.draw_rect(ink, cx - half, cy - arm, 2 * half + 1, 2 * arm + 1, fill());
      canvas.draw_rect(ink, cx - arm, cy - half, 2 * arm + 1, 2 * half + 1, fill());
      return;
    }
    default: break;
  }
  const int side = 2 * static_cast<int>(std::ceil(r)) + 1;
  const float c = side / 2.0f;  // mask-local centre
  std::vector<std::pair<float, float>> pts;
  const double kPi = 3.14159265358979323846;
  if (shape == Shape::kTriangle) {  // upright equilateral-ish
    pts = {{c, c - r}, {c + r * 0.95f, c + r * 0.8f}, {c - r * 0.95f, c + r * 0.8f}};
  } else if (shape == Shape::kDiamond) {
    pts = {{c, c - r}, {c + r * 0.8f, c}, {c, c + r}, {c - r * 0.8f, c}};
  } else {  // five-pointed star: outer radius r, inner 0.45 r
    for (int k = 0; k < 10; ++k) {
      const double a = -kPi / 2 + k * kPi / 5;
      const double rr = (k % 2 == 0) ? r : r * 0.45;
      pts.emplace_back(static_cast<float>(c + rr * std::cos(a)), static_cast<float>(c + rr * std::sin(a)));
    }
  }
  std::vector<uint8_t> buffer;
  vips::VImage mask = polygon_mask(pts, side, buffer);
  canvas.draw_mask(ink, mask, cx - side / 2, cy - side / 2);
}

}  // namespace

std::string render_scene_png(const Scene& scene) {
  ensure_vips_initialized();
  try {
    vips::VImage canvas = vips::VImage::black(scene.size, scene.size, vips::VImage::option()->set("bands", 3))
                              .new_from_image({static_cast<double>(scene.background_rgb[0]),
                                               static_cast<double>(scene.background_rgb[1]),
                                               static_cast<double>(scene.background_rgb[2])})
                              .cast(VIPS_FORMAT_UCHAR)
                              .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB))
                              .copy_memory();
    for (const ShapeGroup& g : scene.groups) {
      for (const PlacedObject& o : g.objects) draw_object(canvas, g.shape, o);
    }
    void* buf = nullptr;
    size_t len = 0;
    canvas.write_to_buffer(".png", &buf, &len, vips::VImage::option()->set("compression", 1));
    std::string out(static_cast<const char*>(buf), len);
    g_free(buf);
    return out;
  } catch (const vips::VError& e) {
    throw Error("libvips could not draw a demo scene").got(e.what());
  }
}

}  // namespace kd::demo
