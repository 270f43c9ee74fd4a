// What kd-eval measured, and its three renderings: report.json (docs/report-format.md), a plain-text table for the
// terminal and a Markdown section for a README.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/eval/retrieval_metrics.h"
#include "common/eval/tower_embedding.h"
#include "common/eval/zero_shot.h"

namespace kd {

// One image tower × text tower combination, scored over the whole val set.
struct PairingResult {
  std::string image_tower;  // "teacher" | "student"
  std::string text_tower;   // "teacher" | "student"
  RetrievalRecall recall;   // ks, image_to_text, text_to_image (fractions in [0, 1])
  // recall / teacher×teacher recall, per k; empty for the teacher×teacher row; NaN where the teacher scored 0.
  std::vector<double> retention_image_to_text, retention_text_to_image;
};

// One tower that was run (students always; the teacher's towers when --teacher is given).
struct TowerResult {
  std::string role;          // "image student" | "text student" | "teacher image" | "teacher text"
  std::string source;        // the path given
  std::string format;        // "hf" | "openai-safetensors" | "openai-torchscript"
  nlohmann::json config;     // {"width", "n_layers", "n_heads", "mlp_width", ...} of this tower, "embed_dim"
  int64_t parameters = 0;    // tower parameters incl. its projection (logit_scale excluded)
  // Mean over rows of cos(this tower's embedding, the cache's teacher embedding) over timing.rows rows.
  double mean_cosine_to_teacher = 0;
  TowerTiming timing;        // rows/s = timing.rows_per_second()
  std::string kd_teacher_id; // students: the teacher they were distilled from, as recorded ("" unknown)
};

struct EvalReport {
  // The val set (retrieval); has_retrieval false when kd-eval ran zero-shot only.
  bool has_retrieval = true;
  std::string val_cache;      // folder given
  std::string protocol = "coco-captions";  // "coco-captions" | "karpathy" (val_cache.h)
  std::string dataset, split, source;      // karpathy: "coco" / "flickr30k", "test", the split file's name
  std::string teacher_id;
  std::string image_root;
  int64_t n_images = 0, n_texts = 0, embed_dim = 0;
  double logit_scale = 0;     // teacher's multiplier, from the cache
  int64_t block_rows = 0;     // query rows per score block in the recall computation
  std::vector<PairingResult> pairings;  // teacher×teacher first
  std::vector<TowerResult> towers;
  std::vector<std::string> warnings;    // e.g. a student of another teacher, allowed by --allow-other-teacher
  bool has_zero_shot = false;
  ZeroShotResult zero_shot;   // when has_zero_shot
};

// {"kd_format": "kd-eval-report", "kd_version": 1, ...}: the schema is docs/report-format.md.
nlohmann::json eval_report_to_json(const EvalReport& report);
// A fixed-width table for stdout.
std::string eval_report_table(const EvalReport& report);
// A Markdown section (two tables and a line on the set) for a README.
std::string eval_report_markdown(const EvalReport& report);

// Writes report.json (and, if md_path is not empty, the Markdown) atomically.
void write_eval_report(const EvalReport& report, const std::filesystem::path& json_path,
                       const std::filesystem::path& md_path);

}  // namespace kd
