// kd-eval's work: embed the val set with each student tower, score every available image × text pairing over the
// whole set (teacher × teacher from the cache), compare students with the teacher, and time the towers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <type_traits>

#include "common/eval/eval_report.h"
#include "common/eval/val_cache.h"
#include "common/util/option_fields.h"

namespace kd {

struct EvalOptions {
  std::filesystem::path val_cache;      // folder written by kd-extract val
  std::filesystem::path image_student;  // run folder, student file or HF folder; empty = none
  std::filesystem::path text_student;   // likewise (a full CLIP is accepted: its needed tower is used)
  std::filesystem::path teacher;        // optional: checked against the cache's teacher_id and timed
  std::vector<int64_t> ks{1, 5, 10};
  int64_t batch = 64;                   // rows per forward pass
  std::string device = "cpu";           // cpu | cuda | cuda:N
  int64_t block_rows = 256;             // query rows per score block (memory ≈ block_rows · N_candidates · 13 B)
  int64_t teacher_rows = 256;           // the teacher's towers are timed on the first this-many images and captions
  bool progress = true;                 // progress lines on stderr
};

// The one description of EvalOptions (option_fields.h); kd-eval adds its output paths, --threads and --quiet.
template <class O, class V, std::enable_if_t<std::is_same_v<std::remove_const_t<O>, EvalOptions>, int> = 0>
void visit_fields(O& o, V&& v) {
  v(o.val_cache, {"val-cache", "val cache folder (kd-extract val)", kRequired});
  v(o.image_student, {"image-student", "image student: run folder, .safetensors, or HF folder"});
  v(o.text_student, {"text-student", "text student: run folder, .safetensors, or HF folder"});
  v(o.teacher, {"teacher", "the cache's teacher (optional): checked against teacher_id and timed"});
  v(o.ks, {"ks", "Recall@K values"});
  v(o.batch, {"batch", "rows per forward pass"});
  v(o.device, {"device", "cpu, cuda or cuda:N"});
  v(o.block_rows, {"block-rows", "query rows per similarity block (memory ≈ rows · candidates · 13 B)"});
  v(o.teacher_rows, {"teacher-rows", "images and captions the teacher is timed on"});
}

// "cpu", "cuda", "cuda:1" -> a device; kd::Error otherwise.
torch::Device parse_device(const std::string& name);

// Runs everything; needs at least one student. Throws kd::Error for an unreadable cache or student, a student whose
// embedding width differs from the cache's, or a teacher that is not the cache's.
EvalReport evaluate_students(const EvalOptions& options);

// The scoring part alone, on embeddings already computed (used by evaluate_students; tests call it directly):
// teacher × teacher from the cache, then every pairing with a defined student embedding matrix ([Ni, D] /
// [Nt, D] float32, CPU; undefined tensor = that student is absent).
std::vector<PairingResult> score_pairings(const ValCache& cache, const torch::Tensor& student_image_embeds,
                                          const torch::Tensor& student_text_embeds,
                                          const std::vector<int64_t>& ks, int64_t block_rows);

}  // namespace kd
