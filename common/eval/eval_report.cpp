// kd-eval's report: JSON (schema in docs/report-format.md), a terminal table and a Markdown section.
#include "common/eval/eval_report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/eval/recall_chart.h"
#include "common/util/atomic_file.h"

namespace kd {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json at_k(const std::vector<int64_t>& ks, const std::vector<double>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < ks.size() && i < values.size(); ++i) j["R@" + std::to_string(ks[i])] = number_or_null(values[i]);
  return j;
}

std::string unit_of(const TowerResult& t) {
  return t.role == "image student" || t.role == "teacher image" ? "images/s" : "captions/s";
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// "45.2" or "45.2 (91%)".
std::string recall_cell(double recall, const std::vector<double>& retention, size_t i) {
  std::string s = fmt("%.1f", 100.0 * recall);
  if (i < retention.size()) s += std::isfinite(retention[i]) ? fmt(" (%.0f%%)", 100.0 * retention[i]) : " (n/a)";
  return s;
}

std::string params_cell(int64_t n) {
  return n >= 1000000 ? fmt("%.2f M", n / 1e6) : n >= 1000 ? fmt("%.1f k", n / 1e3) : std::to_string(n);
}

// Rows of cells for both renderings: header first.
std::vector<std::vector<std::string>> retrieval_rows(const EvalReport& r) {
  std::vector<std::vector<std::string>> rows;
  if (r.pairings.empty()) return rows;
  const auto& ks = r.pairings[0].recall.ks;
  std::vector<std::string> head{"image tower", "text tower"};
  for (auto k : ks) head.push_back("I→T R@" + std::to_string(k));
  for (auto k : ks) head.push_back("T→I R@" + std::to_string(k));
  rows.push_back(head);
  for (const PairingResult& p : r.pairings) {
    std::vector<std::string> row{p.image_tower, p.text_tower};
    for (size_t i = 0; i < ks.size(); ++i) row.push_back(recall_cell(p.recall.image_to_text[i], p.retention_image_to_text, i));
    for (size_t i = 0; i < ks.size(); ++i) row.push_back(recall_cell(p.recall.text_to_image[i], p.retention_text_to_image, i));
    rows.push_back(row);
  }
  return rows;
}

std::vector<std::vector<std::string>> tower_rows(const EvalReport& r) {
  std::vector<std::vector<std::string>> rows{
      {"tower", "parameters", "cos to teacher", "throughput", "rows timed", "batch", "device", "threads"}};
  for (const TowerResult& t : r.towers)
    rows.push_back({t.role, params_cell(t.parameters), fmt("%.4f", t.mean_cosine_to_teacher),
                    fmt("%.1f ", t.timing.rows_per_second()) + unit_of(t), std::to_string(t.timing.timed_rows),
                    std::to_string(t.timing.batch), t.timing.device, std::to_string(t.timing.threads)});
  return rows;
}

// Display width in code points (the arrows are one column each).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string plain_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return {};
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  std::ostringstream out;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) {
      out << rows[r][c];
      if (c + 1 < rows[r].size()) out << std::string(width[c] - display_width(rows[r][c]) + 2, ' ');
    }
    out << "\n";
    if (r == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      out << std::string(total - 2, '-') << "\n";
    }
  }
  return out.str();
}

std::string markdown_table(const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out << "|";
    for (const auto& cell : rows[r]) out << " " << cell << " |";
    out << "\n";
    if (r == 0) {
      out << "|";
      for (size_t c = 0; c < rows[r].size(); ++c) out << (c < 2 ? "---|" : "---:|");
      out << "\n";
    }
  }
  return out.str();
}

// "COCO Karpathy test split (dataset_coco.json)" / "COCO captions JSON (e.g. val2017)".
std::string protocol_phrase(const EvalReport& r) {
  if (r.protocol == "karpathy")
    return (r.dataset.empty() ? std::string("Karpathy") : r.dataset + " Karpathy") + " " + r.split + " split (" +
           r.source + ")";
  return "COCO captions JSON (val2017 protocol)";
}

std::string set_line(const EvalReport& r) {
  std::ostringstream out;
  out << protocol_phrase(r) << ": " << r.n_images << " images × " << r.n_texts
      << " captions (whole set, one ranking over all), D = " << r.embed_dim << ", teacher "
      << r.teacher_id.substr(0, 12) << ", val cache " << r.val_cache;
  return out.str();
}

// "45.2" or "45.2 (91%)" for an accuracy and its retention (NaN retention: no parentheses for the first row).
std::string accuracy_cell(double accuracy, double retention, bool with_retention) {
  std::string s = fmt("%.1f", 100.0 * accuracy);
  if (with_retention) s += std::isfinite(retention) ? fmt(" (%.0f%%)", 100.0 * retention) : " (n/a)";
  return s;
}

std::vector<std::vector<std::string>> zero_shot_rows(const ZeroShotResult& z) {
  std::vector<std::vector<std::string>> rows{{"image tower", "text tower", "top-1", "top-5"}};
  for (size_t i = 0; i < z.pairings.size(); ++i) {
    const ZeroShotPairing& p = z.pairings[i];
    rows.push_back({p.image_tower, p.text_tower, accuracy_cell(p.counts.top1_accuracy(), p.retention_top1, i > 0),
                    accuracy_cell(p.counts.top5_accuracy(), p.retention_top5, i > 0)});
  }
  return rows;
}

std::string zero_shot_line(const ZeroShotResult& z) {
  std::ostringstream out;
  out << z.n_images << " images in " << z.n_classes << " classes (" << z.dir << "), class names from "
      << (z.class_names_from_file ? "--classnames" : "the folder names") << ", " << z.n_templates
      << " prompt templates (" << z.templates_source << "); classifier = mean of the L2-normalised prompt embeddings";
  return out.str();
}

nlohmann::json zero_shot_to_json(const ZeroShotResult& z) {
  nlohmann::json j{{"dir", z.dir},
                   {"n_images", z.n_images},
                   {"n_classes", z.n_classes},
                   {"class_names", z.class_names_from_file ? "file" : "folders"},
                   {"templates", z.templates_source},
                   {"n_templates", z.n_templates},
                   {"pairings", nlohmann::json::array()}};
  for (size_t i = 0; i < z.pairings.size(); ++i) {
    const ZeroShotPairing& p = z.pairings[i];
    nlohmann::json e{{"image_tower", p.image_tower},
                     {"text_tower", p.text_tower},
                     {"top1", p.counts.top1_accuracy()},
                     {"top5", p.counts.top5_accuracy()},
                     {"correct_top1", p.counts.top1},
                     {"correct_top5", p.counts.top5},
                     {"retention", nullptr}};
    if (i > 0) e["retention"] = {{"top1", number_or_null(p.retention_top1)}, {"top5", number_or_null(p.retention_top5)}};
    j["pairings"].push_back(e);
  }
  return j;
}

}  // namespace

nlohmann::json eval_report_to_json(const EvalReport& r) {
  nlohmann::json j{{"kd_format", "kd-eval-report"}, {"kd_version", 1}, {"teacher_id", r.teacher_id}};
  j["val_set"] = nullptr;
  if (r.has_retrieval)
    j["val_set"] = {{"cache", r.val_cache},         {"protocol", r.protocol},     {"dataset", r.dataset},
                    {"split", r.split},             {"source", r.source},         {"teacher_id", r.teacher_id},
                    {"image_root", r.image_root},   {"n_images", r.n_images},     {"n_texts", r.n_texts},
                    {"embed_dim", r.embed_dim},     {"logit_scale", r.logit_scale}, {"whole_set", true},
                    {"block_rows", r.block_rows}};
  j["ks"] = r.pairings.empty() ? std::vector<int64_t>{} : r.pairings[0].recall.ks;
  j["pairings"] = nlohmann::json::array();
  for (const PairingResult& p : r.pairings) {
    nlohmann::json e{{"image_tower", p.image_tower},
                     {"text_tower", p.text_tower},
                     {"image_to_text", at_k(p.recall.ks, p.recall.image_to_text)},
                     {"text_to_image", at_k(p.recall.ks, p.recall.text_to_image)},
                     {"retention", nullptr}};
    if (!p.retention_image_to_text.empty())
      e["retention"] = {{"image_to_text", at_k(p.recall.ks, p.retention_image_to_text)},
                        {"text_to_image", at_k(p.recall.ks, p.retention_text_to_image)}};
    j["pairings"].push_back(e);
  }
  j["zero_shot"] = r.has_zero_shot ? zero_shot_to_json(r.zero_shot) : nlohmann::json(nullptr);
  j["towers"] = nlohmann::json::array();
  for (const TowerResult& t : r.towers) {
    j["towers"].push_back(
        {{"role", t.role},
         {"source", t.source},
         {"format", t.format},
         {"config", t.config},
         {"parameters", t.parameters},
         {"mean_cosine_to_teacher", number_or_null(t.mean_cosine_to_teacher)},
         {"throughput",
          {{"rows_per_second", t.timing.rows_per_second()}, {"unit", unit_of(t)}, {"rows", t.timing.rows},
           {"timed_rows", t.timing.timed_rows}, {"batch", t.timing.batch}, {"device", t.timing.device},
           {"threads", t.timing.threads}, {"forward_seconds", t.timing.forward_seconds},
           {"prepare_seconds", t.timing.prepare_seconds}}}});
    if (t.role.find("student") != std::string::npos)
      j["towers"].back()["kd_teacher_id"] =
          t.kd_teacher_id.empty() ? nlohmann::json() : nlohmann::json(t.kd_teacher_id);
  }
  j["warnings"] = r.warnings;
  return j;
}

std::string eval_report_table(const EvalReport& r) {
  std::ostringstream out;
  if (r.has_retrieval) out << set_line(r) << "\n";
  for (const auto& w : r.warnings) out << "WARNING: " << w << "\n";
  if (r.has_retrieval)
    out << "\nRetrieval, Recall@K in % (retention = student / teacher×teacher)\n" << plain_table(retrieval_rows(r))
        << "\n";
  if (r.has_zero_shot)
    out << "Zero-shot classification: " << zero_shot_line(r.zero_shot)
        << "\nAccuracy in % (retention = student / teacher×teacher)\n" << plain_table(zero_shot_rows(r.zero_shot))
        << "\n";
  if (!r.towers.empty())
    out << "Towers (throughput: forward pass only, decode excluded)\n" << plain_table(tower_rows(r));
  return out.str();
}

std::string eval_report_markdown(const EvalReport& r) {
  std::ostringstream out;
  for (const auto& w : r.warnings) out << "**Warning:** " << w << ".\n\n";
  if (r.has_retrieval)
    out << "### Retrieval (kd-eval)\n\n" << set_line(r) << ".\n\n"
        << "Recall@K in %; in parentheses the retention, student metric / teacher×teacher metric.\n\n"
        << markdown_table(retrieval_rows(r)) << "\n";
  if (r.has_zero_shot)
    out << "### Zero-shot classification (kd-eval)\n\n" << zero_shot_line(r.zero_shot) << ".\n\n"
        << "Accuracy in %; in parentheses the retention, student accuracy / teacher×teacher accuracy.\n\n"
        << markdown_table(zero_shot_rows(r.zero_shot)) << "\n";
  if (!r.towers.empty())
    out << "Towers: parameters include the projection; cosine is the mean cosine to the teacher's cached embedding; "
           "throughput is the forward pass only (image decoding excluded).\n\n"
        << markdown_table(tower_rows(r));
  return out.str();
}

void write_eval_report(const EvalReport& report, const std::filesystem::path& json_path,
                       const std::filesystem::path& md_path) {
  write_file_atomic(json_path, eval_report_to_json(report).dump(2) + "\n");
  if (!md_path.empty())  // the recall@K chart beside it (recall_chart.h), linked at the end
    write_file_atomic(md_path, eval_report_markdown(report) + write_recall_chart(report, md_path));
}

}  // namespace kd
