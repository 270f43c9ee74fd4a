// Recall@K per pairing as SVG bars (common/util/svg_chart.h).
#include "common/eval/recall_chart.h"

#include <cmath>

#include "common/util/atomic_file.h"
#include "common/util/svg_chart.h"

namespace kd {

std::string recall_chart_svg(const EvalReport& r) {
  std::vector<ChartPanel> panels(2);
  for (int d = 0; d < 2; ++d) {
    ChartPanel& p = panels[d];
    p.bars = true;
    p.title = d == 0 ? "image \xE2\x86\x92 text" : "text \xE2\x86\x92 image";
    p.x_label = "K";
    p.y_label = "recall@K (%)";
    for (const PairingResult& pr : r.pairings) p.series_names.push_back(pr.image_tower + " \xC3\x97 " + pr.text_tower);
    if (r.pairings.empty()) continue;
    const std::vector<int64_t>& ks = r.pairings.front().recall.ks;
    for (size_t k = 0; k < ks.size(); ++k) {
      BarGroup g{"R@" + std::to_string(ks[k]), {}};
      for (const PairingResult& pr : r.pairings) {
        const auto& v = d == 0 ? pr.recall.image_to_text : pr.recall.text_to_image;
        g.values.push_back(k < v.size() ? 100.0 * v[k] : NAN);
      }
      p.groups.push_back(g);
    }
  }
  return svg_chart("recall@K, " + std::to_string(r.n_images) + " images \xC3\x97 " + std::to_string(r.n_texts) +
                       " captions (image tower \xC3\x97 text tower)",
                   panels, 460, 300);
}

std::filesystem::path recall_chart_path(const std::filesystem::path& md_path) {
  return md_path.parent_path() / (md_path.stem().string() + "-recall.svg");
}

std::string write_recall_chart(const EvalReport& report, const std::filesystem::path& md_path) {
  const std::filesystem::path svg = recall_chart_path(md_path);
  write_file_atomic(svg, recall_chart_svg(report));
  return "\n![recall@K per pairing](" + svg.filename().string() + ")\n";
}

}  // namespace kd
