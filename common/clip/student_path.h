// Where a student's weights are, given what a user passes: a kd-train run folder, an exported student file, or a
// Hugging Face folder.
#pragma once

#include <filesystem>
#include <string>

#include "common/clip/clip_checkpoint.h"

namespace kd {

// RUN/ holding student.safetensors -> RUN/student.safetensors; a folder with config.json (HF) -> that folder;
// an existing file -> itself. Anything else -> kd::Error naming the path and what was looked for.
std::filesystem::path resolve_student_path(const std::filesystem::path& path);

// load_clip(resolve_student_path(given)), checked to hold the vision (or text) tower; else kd::Error naming `role`
// ("image student") and hinting at `other_flag`, the option the file belongs to.
LoadedClip load_student_tower(const std::filesystem::path& given, bool vision, const std::string& role,
                              const std::string& other_flag);

}  // namespace kd
