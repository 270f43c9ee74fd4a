// The resize mode a shard's images were rendered with, as its preprocess attribute records it: what the student
// loader and kd-eval pass to the renderer so that they see the teacher's pixels.
#pragma once

#include <string>

#include "common/cache/shard_reader.h"
#include "common/image/renderer.h"

namespace kd::cache {

// The preprocess attribute's "resize" ("exact" when the attribute does not say). Throws kd::Error naming the file
// and the key for any other value.
ResizeMode read_resize_mode(const ShardReader& reader);
// The same, from the preprocess attribute's text already read (CheckedShard::preprocess) of `file`.
ResizeMode resize_mode_of_preprocess(const std::string& preprocess, const std::string& file);

}  // namespace kd::cache
