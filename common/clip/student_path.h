// Where a student's weights are, given what a user passes: a kd-train run folder, an exported student file, or a
// Hugging Face folder.
#pragma once

#include <filesystem>

namespace kd {

// RUN/ holding student.safetensors -> RUN/student.safetensors; a folder with config.json (HF) -> that folder;
// an existing file -> itself. Anything else -> kd::Error naming the path and what was looked for.
std::filesystem::path resolve_student_path(const std::filesystem::path& path);

}  // namespace kd
