// View parameters: CLIP's center crop as a box, and deterministic RandomResizedCrop + flip views.
#include "common/image/view_params.h"

#include <algorithm>
#include <cmath>

#include "common/image/detail/render_plan.h"
#include "common/util/error.h"
#include "common/util/splitmix64.h"

namespace kd {
namespace {

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}

// Python's round() to int for non-negative values: half to even.
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

void check_size(int width, int height) {
  if (width <= 0 || height <= 0)
    throw Error("invalid image size for a view").got(std::to_string(width) + "x" + std::to_string(height));
}

}  // namespace

ViewRng::ViewRng(uint64_t seed, const std::string& key, int view_index) {
  uint64_t s = splitmix64_mix(seed + kSplitMixGamma);
  s = splitmix64_mix(s ^ fnv1a64(key));
  s = splitmix64_mix(s ^ (static_cast<uint64_t>(static_cast<uint32_t>(view_index)) * 0xD1B54A32D192ED03ull));
  state_ = s;
}

uint64_t ViewRng::next_u64() { return splitmix64_next(state_); }

double ViewRng::uniform(double lo, double hi) { return lo + (hi - lo) * unit_interval(next_u64()); }

int64_t ViewRng::randint(int64_t n) {
  const int64_t v = static_cast<int64_t>(uniform(0.0, static_cast<double>(n)));
  return v >= n ? n - 1 : v;
}

ViewParams center_crop_view(int width, int height, int resolution) {
  check_size(width, height);
  const ClipGeometry g = clip_geometry(width, height, resolution);
  const double sx = static_cast<double>(width) / g.resized_width;
  const double sy = static_cast<double>(height) / g.resized_height;
  ViewParams v;
  v.x = static_cast<float>(g.crop_left * sx);
  v.y = static_cast<float>(g.crop_top * sy);
  v.w = static_cast<float>(resolution * sx);
  v.h = static_cast<float>(resolution * sy);
  v.flip = false;
  return v;
}

bool is_center_crop_view(const ViewParams& v, int width, int height, int resolution) {
  if (width <= 0 || height <= 0 || resolution <= 0) return false;
  const ViewParams c = center_crop_view(width, height, resolution);
  return v.x == c.x && v.y == c.y && v.w == c.w && v.h == c.h && v.flip == c.flip;
}

ViewParams random_resized_crop_view(int width, int height, uint64_t seed, const std::string& key, int view_index,
                                    const ViewOptions& o) {
  check_size(width, height);
  if (!(o.scale_min > 0 && o.scale_min <= o.scale_max && o.scale_max <= 1 && o.ratio_min > 0 &&
        o.ratio_min <= o.ratio_max && o.aug_prob >= 0 && o.aug_prob <= 1))
    throw Error("invalid view options")
        .expected("0 < scale_min <= scale_max <= 1, 0 < ratio_min <= ratio_max, 0 <= aug_prob <= 1");
  ViewRng rng(seed, key, view_index);
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(static_cast<double>(o.ratio_min));
  const double log_hi = std::log(static_cast<double>(o.ratio_max));
  ViewParams v;
  bool found = false;
  for (int attempt = 0; attempt < o.max_attempts && !found; ++attempt) {
    const double target_area = area * rng.uniform(o.scale_min, o.scale_max);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t top = rng.randint(height - h + 1);
      const int64_t left = rng.randint(width - w + 1);
      v = ViewParams{static_cast<float>(left), static_cast<float>(top), static_cast<float>(w), static_cast<float>(h),
                     false};
      found = true;
    }
  }
  if (!found) {  // torchvision's fallback: the largest central crop with an allowed aspect ratio
    const double in_ratio = static_cast<double>(width) / height;
    int w = width, h = height;
    if (in_ratio < o.ratio_min) {
      h = round_half_even(w / static_cast<double>(o.ratio_min));
    } else if (in_ratio > o.ratio_max) {
      w = round_half_even(h * static_cast<double>(o.ratio_max));
    }
    w = std::max(1, std::min(w, width));
    h = std::max(1, std::min(h, height));
    v = ViewParams{static_cast<float>((width - w) / 2), static_cast<float>((height - h) / 2), static_cast<float>(w),
                   static_cast<float>(h), false};
  }
  v.flip = rng.uniform(0.0, 1.0) < o.aug_prob;
  return v;
}

ViewParams make_view(int width, int height, int resolution, uint64_t seed, const std::string& key, int view_index,
                     const ViewOptions& options) {
  if (view_index < 0) throw Error("invalid view index").expected(">= 0").got(std::to_string(view_index));
  if (view_index == 0) return center_crop_view(width, height, resolution);
  return random_resized_crop_view(width, height, seed, key, view_index, options);
}

ViewSpec ViewSpec::of_recorded(const ViewParams& view) {
  ViewSpec s;
  s.kind = Kind::kRecorded;
  s.recorded = view;
  return s;
}

ViewSpec ViewSpec::drawn(uint64_t seed, const std::string& key, int index, const ViewOptions& options) {
  ViewSpec s;
  s.kind = Kind::kDrawn;
  s.seed = seed;
  s.key = key;
  s.index = index;
  s.options = options;
  return s;
}

ViewParams resolve_view(const ViewSpec& spec, int width, int height, int resolution) {
  switch (spec.kind) {
    case ViewSpec::Kind::kCentreCrop:
      return center_crop_view(width, height, resolution);
    case ViewSpec::Kind::kRecorded:
      return spec.recorded;
    case ViewSpec::Kind::kDrawn:
      break;
  }
  return make_view(width, height, resolution, spec.seed, spec.key, spec.index, spec.options);
}

}  // namespace kd
