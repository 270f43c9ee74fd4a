// A student's recorded teacher id and kd-eval's check of it against the val cache's.
#include "common/eval/student_teacher.h"

#include "common/clip/safetensors.h"
#include "common/util/error.h"

namespace kd {

std::string recorded_teacher_id(const std::filesystem::path& weights_file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(weights_file, ec) || weights_file.extension() != ".safetensors") return "";
  const SafetensorsFile f = SafetensorsFile::open(weights_file);
  const auto it = f.metadata().find("kd_teacher_id");
  return it == f.metadata().end() ? std::string() : it->second;
}

std::string check_student_teacher(const std::string& role, const std::filesystem::path& student,
                                  const std::string& student_teacher_id, const std::string& cache_teacher_id,
                                  bool allow_other) {
  if (student_teacher_id.empty() || student_teacher_id == cache_teacher_id) return "";
  if (!allow_other)
    throw Error(role + " was distilled from another teacher than the val cache's").file(student.string())
        .key("kd_teacher_id").expected(cache_teacher_id + " (the val cache's teacher_id)").got(student_teacher_id)
        .hint("evaluate on a val cache extracted with the student's teacher, or pass --allow-other-teacher to "
              "compare across teachers");
  return role + " " + student.string() + " was distilled from teacher " + student_teacher_id.substr(0, 12) +
         ", not the val cache's " + cache_teacher_id.substr(0, 12) +
         " (--allow-other-teacher): its retentions compare two teachers";
}

}  // namespace kd
