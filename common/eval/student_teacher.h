// Which teacher a student was distilled from, and kd-eval's refusal to score it against another teacher's val
// cache (its retentions would be meaningless) unless asked to.
#pragma once

#include <filesystem>
#include <string>

namespace kd {

// The "kd_teacher_id" kd-train records in student.safetensors' metadata; "" when the weights file does not say
// (a TorchScript file, a checkpoint from elsewhere, an export that dropped it).
std::string recorded_teacher_id(const std::filesystem::path& weights_file);

// `role` ("image student") at `student`, distilled from `student_teacher_id`, scored on a val cache made by
// `cache_teacher_id`. Different ids: a kd::Error naming the student and both ids, or with `allow_other` a warning
// line for the report (returned). Same ids, or an unknown student id: "".
std::string check_student_teacher(const std::string& role, const std::filesystem::path& student,
                                  const std::string& student_teacher_id, const std::string& cache_teacher_id,
                                  bool allow_other);

}  // namespace kd
