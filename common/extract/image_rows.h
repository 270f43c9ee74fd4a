// Turns a range of images into teacher rows: parallel decode and view rendering (TBB, bounded), batches to the
// teacher, results in memory for one shard. Unreadable images become skipped entries; nothing throws for bad input.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "common/extract/extract_inputs.h"
#include "common/extract/teacher_encoder.h"
#include "common/image/renderer.h"

namespace kd {

class Progress;

struct ImageRowOptions {
  int views = 1;               // V
  ViewOptions view_options;    // random resized crops of views >= 1
  uint64_t seed = 0;
  int resolution = 224;        // the teacher's image_size
  ResizeMode resize = ResizeMode::kExact;
  uint64_t max_pixels = 0;
  int64_t batch = 64;          // images per teacher call (x V views)
};

struct ImageRows {
  std::vector<std::string> keys;         // [N]
  std::vector<float> embeds;             // [N, V, D]
  std::vector<float> features;           // [N, V, W]
  std::vector<float> view_params;        // [N, V, 5]: x, y, w, h (source pixels), flip
  SkippedList skipped;
  int64_t rows() const { return static_cast<int64_t>(keys.size()); }
};

// The reason for skipping an input whose decode or render threw `error`: a kd::Error about the input (an
// undecodable, truncated or oversized file, ...). Anything else is rethrown and stops the run: a kd::InternalError
// (a broken invariant of kd, common/util/error_kinds.h), std::bad_alloc, a LibTorch error, any other exception.
std::string skip_reason_or_rethrow(const std::exception_ptr& error);

// Images inputs.keys[begin, end) under inputs.root.
ImageRows encode_image_range(const ImageInputs& inputs, int64_t begin, int64_t end, TeacherEncoder& teacher,
                             const ImageRowOptions& options, Progress& progress);

}  // namespace kd
