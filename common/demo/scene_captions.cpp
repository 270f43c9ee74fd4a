// Template captions for the demo's synthetic scenes (see scene_captions.h).
#include "common/demo/scene_captions.h"

#include <algorithm>

namespace kd::demo {

namespace {

using Words = std::vector<std::string>;

std::string shape_noun(Shape s, bool plural, DemoRng& rng) {
  switch (s) {
    case Shape::kCircle: return rng.chance(0.7) ? (plural ? "circles" : "circle") : (plural ? "discs" : "disc");
    case Shape::kSquare: return plural ? "squares" : "square";
    case Shape::kTriangle: return plural ? "triangles" : "triangle";
    case Shape::kDiamond: return plural ? "diamonds" : "diamond";
    case Shape::kStar: return plural ? "stars" : "star";
    case Shape::kCross: return rng.chance(0.7) ? (plural ? "crosses" : "cross") : (plural ? "plus signs" : "plus sign");
  }
  return "shape";
}

std::string position_phrase(Region r, DemoRng& rng) {
  static const Words kLeft = {"on the left", "at the left", "to the left", "on the left side", "in the left part"};
  static const Words kRight = {"on the right", "at the right", "to the right", "on the right side",
                               "in the right part"};
  static const Words kTop = {"at the top", "near the top", "in the upper part", "at the top of the image"};
  static const Words kBottom = {"at the bottom", "near the bottom", "in the lower part", "at the bottom of the image"};
  static const Words kCenter = {"in the center", "in the middle", "at the centre", "in the middle of the image"};
  switch (r) {
    case Region::kLeft: return rng.pick(kLeft);
    case Region::kRight: return rng.pick(kRight);
    case Region::kTop: return rng.pick(kTop);
    case Region::kBottom: return rng.pick(kBottom);
    case Region::kCenter: return rng.pick(kCenter);
  }
  return "";
}

bool starts_with_vowel(const std::string& w) { return !w.empty() && std::string("aeiou").find(w[0]) != std::string::npos; }

// "two small red circles", without position. `with_size`: whether to say small/large.
std::string group_noun_phrase(const ShapeGroup& g, bool with_size, DemoRng& rng) {
  static const Words kLarge = {"large", "big"};
  static const Words kSmall = {"small", "little", "tiny"};
  const int count = static_cast<int>(g.objects.size());
  std::string adjectives;
  if (with_size) adjectives = rng.pick(g.large ? kLarge : kSmall) + " ";
  adjectives += object_colours()[static_cast<size_t>(g.colour)].name;
  const std::string noun = shape_noun(g.shape, count > 1, rng);
  std::string det;
  if (count == 1) {
    det = rng.chance(0.8) ? (starts_with_vowel(adjectives) ? "an" : "a") : "one";
  } else if (count == 2) {
    static const Words k2 = {"two", "two", "2", "a pair of"};
    det = rng.pick(k2);
  } else {
    static const Words k3 = {"three", "three", "3"};
    det = rng.pick(k3);
  }
  return det + " " + adjectives + " " + noun;
}

}  // namespace

std::string caption_scene(const Scene& scene, DemoRng& rng) {
  // Per-caption choices of detail.
  const bool with_size = rng.chance(0.9);
  const bool with_position = rng.chance(0.95);
  const bool with_background = rng.chance(0.75);
  std::vector<const ShapeGroup*> groups;
  for (const ShapeGroup& g : scene.groups) groups.push_back(&g);
  if (groups.size() > 1 && rng.chance(0.5)) std::reverse(groups.begin(), groups.end());

  std::vector<std::string> phrases;  // "two red circles on the left"
  const bool position_first = with_position && rng.chance(0.2);
  for (const ShapeGroup* g : groups) {
    std::string p = group_noun_phrase(*g, with_size, rng);
    if (with_position) p = position_first ? position_phrase(g->region, rng) + " " + p : p + " " + position_phrase(g->region, rng);
    phrases.push_back(std::move(p));
  }
  std::string body = phrases[0];
  static const Words kJoin = {" and ", " and ", ", ", " with "};
  for (size_t i = 1; i < phrases.size(); ++i) body += rng.pick(kJoin) + phrases[i];

  const std::string bg = background_colours()[static_cast<size_t>(scene.background)].name;
  static const Words kBgTail = {"on a BG background", "against a BG background", "on BG", "over a BG backdrop"};
  std::string bg_tail = rng.pick(kBgTail);
  bg_tail.replace(bg_tail.find("BG"), 2, bg);

  std::string caption;
  const int template_id = rng.below(6);
  const bool plural_first = groups[0]->objects.size() > 1;
  switch (template_id) {
    case 0: caption = body; break;
    case 1: caption = "a picture of " + body; break;
    case 2: caption = position_first ? body : std::string(plural_first ? "there are " : "there is ") + body; break;
    case 3: caption = "an image showing " + body; break;
    case 4:
      caption = "a " + bg + " background with " + body;
      return caption;  // background already said
    default: caption = "a drawing of " + body; break;
  }
  if (with_background) caption += " " + bg_tail;
  if (rng.chance(0.3)) caption += ".";
  if (rng.chance(0.5) && caption[0] >= 'a' && caption[0] <= 'z') caption[0] = static_cast<char>(caption[0] - 'a' + 'A');
  return caption;
}

std::vector<std::string> caption_scene_n(const Scene& scene, DemoRng& rng, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string c = caption_scene(scene, rng);
    for (int attempt = 0; attempt < 20 && std::find(out.begin(), out.end(), c) != out.end(); ++attempt) {
      c = caption_scene(scene, rng);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace kd::demo
