// Views of a source image: which box of the source becomes the res x res input, and whether it is mirrored.
// View 0 is CLIP's own resize + center crop; views 1..K-1 are torchvision-style RandomResizedCrop + horizontal flip,
// drawn from a counter-based RNG keyed by (seed, key, view index), so any view can be re-drawn anywhere, in any
// order, by any process, without global state.
#pragma once

#include <cstdint>
#include <string>

namespace kd {

struct ViewParams {
  float x = 0, y = 0, w = 0, h = 0;  // crop box in source pixels (left, top, width, height)
  bool flip = false;                 // mirror left-right after resizing
};

struct ViewOptions {
  // RandomResizedCrop area fraction of the source. Default (0.5, 1): a distillation target should still show the
  // object the caption talks about; torchvision's ImageNet default (0.08, 1) cuts too aggressively for that.
  float scale_min = 0.5f, scale_max = 1.0f;
  float ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;  // width / height, sampled log-uniformly
  float aug_prob = 0.5f;                                   // probability of a horizontal flip (views >= 1)
  int max_attempts = 10;                                   // then torchvision's fallback (central crop)
};

// View 0: the region of the source that CLIP's resize(res) + center_crop(res) covers, in source pixels:
// x = crop_left * width / resized_width, w = res * width / resized_width (likewise y, h); flip = false.
ViewParams center_crop_view(int width, int height, int resolution);

// True if `v` is bit-for-bit what center_crop_view(width, height, resolution) returns.
bool is_center_crop_view(const ViewParams& v, int width, int height, int resolution);

// torchvision RandomResizedCrop.get_params with integer boxes, plus a flip with probability aug_prob, drawn from the
// RNG of (seed, key, view_index). Deterministic; thread-safe.
ViewParams random_resized_crop_view(int width, int height, uint64_t seed, const std::string& key, int view_index,
                                    const ViewOptions& options = {});

// View `view_index` of an image: 0 -> center_crop_view, otherwise random_resized_crop_view.
ViewParams make_view(int width, int height, int resolution, uint64_t seed, const std::string& key, int view_index,
                     const ViewOptions& options = {});

// Which view of an image to render, as a value: the renderer resolves it against the image's size once the header is
// read (resolve_view). The centre crop (kd-eval), a recorded box (kd-train reads the cache's view_params) or view
// `index` drawn by make_view from (seed, key) (kd-extract).
struct ViewSpec {
  enum class Kind { kCentreCrop, kRecorded, kDrawn };
  Kind kind = Kind::kCentreCrop;
  ViewParams recorded;  // kRecorded: the view as recorded, whatever the image's size
  uint64_t seed = 0;    // kDrawn: make_view's arguments
  std::string key;
  int index = 0;
  ViewOptions options;

  static ViewSpec centre_crop() { return {}; }
  static ViewSpec of_recorded(const ViewParams& view);
  static ViewSpec drawn(uint64_t seed, const std::string& key, int index, const ViewOptions& options = {});
};

// The view `spec` names on a width x height image rendered at `resolution`.
ViewParams resolve_view(const ViewSpec& spec, int width, int height, int resolution);

// The counter-based generator behind the views: splitmix64 over a state derived from (seed, FNV-1a 64 of key,
// view index). Exposed for tests.
class ViewRng {
 public:
  ViewRng(uint64_t seed, const std::string& key, int view_index);
  uint64_t next_u64();
  double uniform(double lo, double hi);  // [lo, hi)
  int64_t randint(int64_t n);            // [0, n), n > 0

 private:
  uint64_t state_;
};

}  // namespace kd
