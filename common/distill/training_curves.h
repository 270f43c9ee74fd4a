// RUN/curves.svg: a run's training loss and validation R@1 against step, drawn from RUN/metrics.jsonl at the end of
// kd-train (common/util/svg_chart.h). No LibTorch here.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kd {

// Two panels: loss (total and each loss_<term>; log scale when it spans more than 20x), averaged into at most
// 600 points per series; validation I->T and T->I R@1 in % (and val_acc's direction first). `title` above both.
std::string training_curves_svg(const std::vector<nlohmann::json>& metrics_lines, const std::string& title);

// Reads metrics.jsonl (unparsable lines skipped) and writes the SVG atomically.
void write_training_curves(const std::filesystem::path& metrics_jsonl, const std::filesystem::path& svg,
                           const std::string& title);

}  // namespace kd
