// kd's SVG charts (common/util/svg_chart.h): legends stay inside their panel, wrapping to more rows when the names
// are too wide for one (report-recall.svg's four pairings overlapped the next panel before).
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "common/util/svg_chart.h"

TEST(SvgChart, WideLegendsWrapInsideTheirPanel) {
  kd::ChartPanel p;
  p.bars = true;
  p.title = "image \xE2\x86\x92 text";
  p.series_names = {"teacher \xC3\x97 teacher", "student \xC3\x97 teacher", "teacher \xC3\x97 student",
                    "student \xC3\x97 student"};
  p.groups = {{"R@1", {10, 9, 8, 7}}, {"R@5", {30, 28, 26, 24}}};
  const int width = 420;
  const std::string svg = kd::svg_chart("recall", {p, p}, width, 300);
  // Legend entries: 10-px font, anchored at their start; each must start and (at ~6.2 px a character) end within
  // its own panel.
  const std::regex entry("<text x=\"([0-9.]+)\" y=\"([0-9.]+)\" text-anchor=\"start\" font-size=\"10\">([^<]*)</text>");
  int n = 0;
  double first_row_y = -1;
  bool two_rows = false;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), entry); it != std::sregex_iterator(); ++it, ++n) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    const int panel = n / 4;
    const double end = x + 6.2 * 15;  // "student × student": 17 characters, ~15 wide ones
    EXPECT_GE(x, panel * width) << (*it)[3];
    EXPECT_LE(end, (panel + 1) * width) << (*it)[3] << " at x " << x;
    if (first_row_y < 0) first_row_y = y;
    if (y != first_row_y && panel == 0) two_rows = true;
  }
  EXPECT_EQ(n, 8);
  EXPECT_TRUE(two_rows) << "four pairings do not fit one row of a 420-px panel";
}

TEST(SvgChart, NarrowLegendsStayOnOneRow) {
  kd::ChartPanel p;
  p.title = "loss";
  p.lines = {{"total", {1, 2, 3}, {3, 2, 1}}, {"kl", {1, 2, 3}, {2, 1, 0.5}}};
  const std::string svg = kd::svg_chart("", {p});
  const std::regex entry("<text x=\"[0-9.]+\" y=\"([0-9.]+)\" text-anchor=\"start\" font-size=\"10\">");
  std::vector<std::string> ys;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), entry); it != std::sregex_iterator(); ++it)
    ys.push_back((*it)[1]);
  ASSERT_EQ(ys.size(), 2u);
  EXPECT_EQ(ys[0], ys[1]);
}
