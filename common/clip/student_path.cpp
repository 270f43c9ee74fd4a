// Resolving a student argument (run folder, student file, HF folder) to something load_clip reads.
#include "common/clip/student_path.h"

#include "common/util/error.h"

namespace kd {

std::filesystem::path resolve_student_path(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::is_regular_file(path / "student.safetensors", ec)) return path / "student.safetensors";
    if (fs::is_regular_file(path / "config.json", ec) && fs::is_regular_file(path / "model.safetensors", ec))
      return path;
    throw Error("folder is neither a kd-train run nor a Hugging Face checkpoint").file(path.string())
        .expected("RUN/student.safetensors, or config.json + model.safetensors")
        .hint("a run writes student.safetensors when training ends; or pass a checkpoint file");
  }
  if (fs::is_regular_file(path, ec)) return path;
  throw Error("student not found").file(path.string());
}

LoadedClip load_student_tower(const std::filesystem::path& given, bool vision, const std::string& role,
                              const std::string& other_flag) {
  const std::filesystem::path path = resolve_student_path(given);
  LoadedClip loaded = load_clip(path);
  if (!(vision ? loaded.model.config.has_vision : loaded.model.config.has_text))
    throw Error(role + " has no " + (vision ? "vision" : "text") + " tower").file(path.string())
        .hint("pass it as " + other_flag);
  return loaded;
}

}  // namespace kd
