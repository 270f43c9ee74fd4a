// The teacher id: a SHA-256 of a CLIP model's tensors in one canonical layout (OpenAI names, float32), so the same
// weights give the same id whichever file format they were read from (docs/cache-format.md, "teacher_id").
#pragma once

#include <string>

#include "common/clip/clip_model.h"

namespace kd {

// sha256 (lowercase hex) of
//   "kd-weights-id 1\n"
//   then, for every tensor of model.named_tensors() in byte-wise sorted name order:
//     "<name>\tfloat32\t<d0>,<d1>,...\n"   (a scalar has an empty shape)
//     its values as little-endian float32, C order.
// The model's tensors may live on any device and in any float dtype; values are hashed as float32.
std::string clip_weights_id(const ClipModel& model);

}  // namespace kd
