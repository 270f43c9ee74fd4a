// Captions for the demo's synthetic scenes: varied English templates ("two red circles on the left and a small blue
// square at the top", "a picture of ...", "there are ...") with synonyms, count words and optional details, so the
// text tower has something to learn beyond a fixed pattern.
#pragma once

#include <string>
#include <vector>

#include "common/demo/demo_rng.h"
#include "common/demo/synthetic_scene.h"

namespace kd::demo {

// One caption of `scene`, drawn from the templates with `rng`. Always names every group's colour and shape; count,
// size, position and background are each stated in most captions and left out in some.
std::string caption_scene(const Scene& scene, DemoRng& rng);

// `n` captions of one scene, distinct when the templates allow it (up to 20 tries per caption).
std::vector<std::string> caption_scene_n(const Scene& scene, DemoRng& rng, int n);

}  // namespace kd::demo
