// Loss and validation curves of a run as SVG.
#include "common/distill/training_curves.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "common/util/atomic_file.h"
#include "common/util/svg_chart.h"

namespace kd {
namespace {

// Averages consecutive points into at most `max_points` buckets (keeps a long run's SVG small and readable).
LineSeries bucketed(const std::string& name, const std::vector<double>& x, const std::vector<double>& y,
                    size_t max_points) {
  LineSeries s{name, {}, {}};
  const size_t n = x.size(), per = std::max<size_t>(1, (n + max_points - 1) / max_points);
  for (size_t i = 0; i < n; i += per) {
    double sx = 0, sy = 0;
    size_t k = 0;
    for (size_t j = i; j < std::min(n, i + per); ++j)
      if (std::isfinite(y[j])) {
        sx += x[j];
        sy += y[j];
        ++k;
      }
    if (k == 0) continue;
    s.x.push_back(sx / k);
    s.y.push_back(sy / k);
  }
  return s;
}

}  // namespace

std::string training_curves_svg(const std::vector<nlohmann::json>& lines, const std::string& title) {
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> loss, val;
  std::vector<std::string> loss_order;
  for (const auto& l : lines) {
    if (!l.is_object() || !l.contains("step")) continue;
    const double step = l["step"].get<double>();
    if (l.contains("val") && l["val"].is_object()) {
      for (const char* k : {"i2t_r1", "t2i_r1"})
        if (l["val"].contains(k) && l["val"][k].is_number()) {
          val[k].first.push_back(step);
          val[k].second.push_back(100.0 * l["val"][k].get<double>());
        }
      continue;
    }
    for (auto it = l.begin(); it != l.end(); ++it) {
      if (it.key().rfind("loss", 0) != 0 || it.key() == "loss_scale" || !it.value().is_number()) continue;
      if (!loss.count(it.key())) loss_order.push_back(it.key());
      loss[it.key()].first.push_back(step);
      loss[it.key()].second.push_back(it.value().get<double>());
    }
  }
  ChartPanel lp;
  lp.title = "training loss";
  lp.x_label = "step";
  lp.y_label = "loss";
  double lo = INFINITY, hi = 0;
  std::sort(loss_order.begin(), loss_order.end(), [](const std::string& a, const std::string& b) {
    return (a == "loss") != (b == "loss") ? a == "loss" : a < b;  // the total first
  });
  for (const auto& k : loss_order) {
    lp.lines.push_back(bucketed(k == "loss" ? "total" : k.substr(5), loss[k].first, loss[k].second, 600));
    for (double v : lp.lines.back().y) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  lp.log_y = lo > 0 && hi / lo > 20;
  lp.y_from_zero = !lp.log_y;
  if (lp.log_y) lp.y_label = "loss (log scale)";
  ChartPanel vp;
  vp.title = "validation R@1";
  vp.x_label = "step";
  vp.y_label = "R@1 (%)";
  for (const char* k : {"i2t_r1", "t2i_r1"})
    if (val.count(k)) vp.lines.push_back({std::string(k) == "i2t_r1" ? "image->text" : "text->image",
                                          val[k].first, val[k].second});
  return svg_chart(title, {lp, vp});
}

void write_training_curves(const std::filesystem::path& metrics_jsonl, const std::filesystem::path& svg,
                           const std::string& title) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(metrics_jsonl);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  write_file_atomic(svg, training_curves_svg(lines, title));
}

}  // namespace kd
