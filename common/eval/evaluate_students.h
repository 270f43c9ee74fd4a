// kd-eval's work: embed the val set with each student tower, score every available image × text pairing over the
// whole set (teacher × teacher from the cache), compare students with the teacher, and time the towers; and, with a
// class-folder image set, zero-shot classification for every pairing (zero_shot.h).
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
  std::filesystem::path val_cache;      // folder written by kd-extract val; empty = no retrieval (zero-shot only)
  std::filesystem::path image_student;  // run folder, student file or HF folder; empty = none
  std::filesystem::path text_student;   // likewise (a full CLIP is accepted: its needed tower is used)
  std::filesystem::path teacher;        // checked against the cache's teacher_id and timed; needed for zero-shot
  std::filesystem::path zeroshot;       // class-folder image set DIR/<class>/<image>; empty = no zero-shot
  std::filesystem::path classnames;     // zero-shot class names, one a line in sorted folder order; empty = folders
  std::filesystem::path templates;      // zero-shot prompt templates, one a line; empty = CLIP's 80 ImageNet ones
  std::filesystem::path vocab;          // BPE vocabulary for the prompts; empty = beside the teacher
  std::vector<int64_t> ks{1, 5, 10};
  int64_t batch = 64;                   // rows per forward pass
  std::string device = "cpu";           // cpu | cuda | cuda:N
  int64_t block_rows = 256;             // query rows per score block (memory ≈ block_rows · N_candidates · 13 B)
  int64_t teacher_rows = 256;           // the teacher's towers are timed on the first this-many images and captions
  bool progress = true;                 // progress lines on stderr
  bool allow_other_teacher = false;     // score students distilled from another teacher (the report warns)
};

// The one description of EvalOptions (option_fields.h); kd-eval adds its output paths, --threads and --quiet.
template <class O, class V, std::enable_if_t<std::is_same_v<std::remove_const_t<O>, EvalOptions>, int> = 0>
void visit_fields(O& o, V&& v) {
  v(o.val_cache, {"val-cache", "val cache folder (kd-extract val: COCO val2017 or a Karpathy split); optional with "
                               "--zeroshot"});
  v(o.image_student, {"image-student", "image student: run folder, .safetensors, or HF folder"});
  v(o.text_student, {"text-student", "text student: run folder, .safetensors, or HF folder"});
  v(o.teacher, {"teacher", "the cache's teacher: checked against teacher_id and timed (needed for --zeroshot)"});
  v(o.zeroshot, {"zeroshot", "zero-shot classification set: DIR/<class>/<image> (ImageNet val layout)"});
  v(o.classnames, {"classnames", "zero-shot class names, one a line in sorted folder order (default: the folder "
                                 "names)"});
  v(o.templates, {"templates", "zero-shot prompt templates, one a line, {} = class name (default: the 80 ImageNet "
                               "templates of CLIP, pipelines/zeroshot/imagenet-templates.txt)"});
  v(o.vocab, {"vocab", "BPE vocabulary for the prompts (.txt.gz or folder; default: beside the teacher)"});
  v(o.ks, {"ks", "Recall@K values"});
  v(o.batch, {"batch", "rows per forward pass"});
  v(o.device, {"device", "cpu, cuda or cuda:N"});
  v(o.block_rows, {"block-rows", "query rows per similarity block (memory ≈ rows · candidates · 13 B)"});
  v(o.teacher_rows, {"teacher-rows", "images and captions the teacher is timed on"});
  v(o.allow_other_teacher, {"allow-other-teacher", "score students distilled from another teacher than the val "
                                                   "cache's (refused without it; the report warns)"});
}

// Runs everything; needs at least one student, and a val cache or a zero-shot folder (zero-shot needs the teacher).
// Throws kd::Error for an unreadable cache or student, a student whose embedding width differs from the cache's (or
// the teacher's), or a teacher that is not the cache's; kd::UsageError for options out of range.
EvalReport evaluate_students(const EvalOptions& options);

// The scoring part alone, on embeddings already computed (used by evaluate_students; tests call it directly):
// teacher × teacher from the cache, then every pairing with a defined student embedding matrix ([Ni, D] /
// [Nt, D] float32, CPU; undefined tensor = that student is absent).
std::vector<PairingResult> score_pairings(const ValCache& cache, const torch::Tensor& student_image_embeds,
                                          const torch::Tensor& student_text_embeds,
                                          const std::vector<int64_t>& ks, int64_t block_rows);

}  // namespace kd
