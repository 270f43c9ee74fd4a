// kd-eval's picture: recall@K of every image×text tower pairing as grouped bars (one panel per direction), an SVG
// written beside report.md and linked from it. No LibTorch here.
#pragma once

#include <filesystem>
#include <string>

#include "common/eval/eval_report.h"

namespace kd {

// Panels "image → text" and "text → image"; groups R@K; one bar (in %) per pairing "image tower × text tower".
std::string recall_chart_svg(const EvalReport& report);

// REPORT.md -> REPORT-recall.svg beside it.
std::filesystem::path recall_chart_path(const std::filesystem::path& md_path);

// Writes the chart beside `md_path` and returns the Markdown that shows it (a relative image link).
std::string write_recall_chart(const EvalReport& report, const std::filesystem::path& md_path);

}  // namespace kd
