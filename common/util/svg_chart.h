// A small dependency-free SVG writer for kd's pictures: line panels (training curves) and grouped-bar panels
// (recall@K), several panels side by side in one self-contained SVG. No LibTorch here.
#pragma once

#include <string>
#include <vector>

namespace kd {

struct LineSeries {
  std::string name;          // legend text
  std::vector<double> x, y;  // same length; non-finite y values are left out
};

struct BarGroup {
  std::string label;           // below the group, e.g. "R@5"
  std::vector<double> values;  // one per series, in series order
};

struct ChartPanel {
  std::string title, x_label, y_label;
  bool bars = false;                     // false: lines from `lines`; true: grouped bars from `groups`
  std::vector<LineSeries> lines;
  std::vector<std::string> series_names; // bars: legend text per bar within a group
  std::vector<BarGroup> groups;
  bool y_from_zero = true;               // lines: start the y axis at 0 (else at the data minimum)
  double y_max = 0;                      // > 0: fixed top of the y axis (e.g. 100 for percentages)
  bool log_y = false;                    // lines: logarithmic y axis (all y > 0)
};

// One SVG, the panels left to right, each panel_width x panel_height pixels, with `title` above them.
std::string svg_chart(const std::string& title, const std::vector<ChartPanel>& panels, int panel_width = 420,
                      int panel_height = 300);

// "Nice" axis ticks covering [lo, hi]: 3-8 multiples of 1, 2 or 5 × 10^k.
std::vector<double> nice_ticks(double lo, double hi);

// The text with &, <, >, " escaped for SVG.
std::string svg_escape(const std::string& text);

}  // namespace kd
