// SVG panels with axes, ticks, grid, legend; lines or grouped bars. Coordinates are pixels, origin top left.
#include "common/util/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace kd {
namespace {

// Colour-blind-safe palette (Okabe-Ito), in series order.
const char* const kColors[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                               "#000000"};
const char* color(size_t i) { return kColors[i % (sizeof kColors / sizeof kColors[0])]; }

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) std::snprintf(b, sizeof b, "%.0e", v);
  else std::snprintf(b, sizeof b, "%g", v);
  return b;
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle", int size = 11,
                 const char* extra = "") {
  return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" +
         std::to_string(size) + "\"" + extra + ">" + svg_escape(s) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const char* stroke, double width = 1) {
  return "<line x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y1) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y2) +
         "\" stroke=\"" + stroke + "\" stroke-width=\"" + fmt(width) + "\"/>\n";
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// Width of a legend entry in pixels at font size 10: swatch, gap, ~6.2 px per character (UTF-8 code point).
double legend_entry_width(const std::string& name) {
  size_t chars = 0;
  for (unsigned char c : name) chars += (c & 0xC0) != 0x80;
  return 24 + 6.2 * static_cast<double>(chars);
}

// The legend's entries placed left to right from `left`, wrapping to a new row before passing `right`:
// {row, x} per entry.
std::vector<std::pair<int, double>> legend_layout(const std::vector<std::string>& names, double left, double right) {
  std::vector<std::pair<int, double>> out;
  int row = 0;
  double x = left;
  for (const std::string& n : names) {
    if (x > left && x + legend_entry_width(n) - 6 > right) {
      ++row;
      x = left;
    }
    out.emplace_back(row, x);
    x += legend_entry_width(n);
  }
  return out;
}

// One panel at (ox, oy), w x h.
std::string panel_svg(const ChartPanel& p, double ox, double oy, double w, double h) {
  std::vector<std::string> legend = p.series_names;
  if (!p.bars) {
    legend.clear();
    for (const auto& l : p.lines) legend.push_back(l.name);
  }
  const double left = ox + 58, right = ox + w - 12;
  const auto placed = legend_layout(legend, left, right);
  const int legend_rows = placed.empty() ? 1 : placed.back().first + 1;
  const double top = oy + 28, bottom = oy + h - 62 - 13.0 * (legend_rows - 1);  // room for extra legend rows
  std::string s = text(ox + w / 2, oy + 16, p.title, "middle", 13, " font-weight=\"bold\"");
  // Data ranges.
  Range xr, yr;
  if (p.bars) {
    for (const auto& g : p.groups)
      for (double v : g.values) yr.add(v);
  } else {
    for (const auto& l : p.lines)
      for (size_t i = 0; i < l.x.size() && i < l.y.size(); ++i)
        if (std::isfinite(l.y[i]) && (!p.log_y || l.y[i] > 0)) {
          xr.add(l.x[i]);
          yr.add(p.log_y ? std::log10(l.y[i]) : l.y[i]);
        }
  }
  if (yr.empty()) {
    s += text(ox + w / 2, oy + h / 2, "no data");
    return s;
  }
  if (p.y_from_zero && !p.log_y) yr.add(0);
  if (p.y_max > 0 && !p.log_y) yr.hi = std::max(yr.hi, p.y_max);
  std::vector<double> yt;
  if (p.log_y) {
    for (double e = std::floor(yr.lo); e <= std::ceil(yr.hi) + 1e-9; e += 1) yt.push_back(e);
    if (yt.size() < 2) yt.push_back(yt.back() + 1);
  } else {
    yt = nice_ticks(yr.lo, yr.hi);
  }
  const double y0 = yt.front(), y1 = yt.back();
  auto Y = [&](double v) { return bottom - (v - y0) / (y1 - y0 > 0 ? y1 - y0 : 1) * (bottom - top); };
  for (double t : yt) {
    s += line(left, Y(t), right, Y(t), "#e6e6e6");
    s += text(left - 6, Y(t) + 4, p.log_y ? tick_label(std::pow(10.0, t)) : tick_label(t), "end", 10);
  }
  s += line(left, bottom, right, bottom, "#333");
  s += line(left, top, left, bottom, "#333");
  s += text(ox + w / 2 + 23, bottom + 34, p.x_label);
  s += "<text x=\"" + fmt(ox + 14) + "\" y=\"" + fmt((top + bottom) / 2) + "\" text-anchor=\"middle\" font-size=\"11\" "
       "transform=\"rotate(-90 " + fmt(ox + 14) + " " + fmt((top + bottom) / 2) + ")\">" + svg_escape(p.y_label) +
       "</text>\n";

  if (p.bars) {
    const size_t n_groups = p.groups.size(), n_series = p.series_names.size();
    const double gw = (right - left) / std::max<size_t>(n_groups, 1), bw = gw * 0.8 / std::max<size_t>(n_series, 1);
    for (size_t g = 0; g < n_groups; ++g) {
      const double gx = left + g * gw + gw * 0.1;
      for (size_t k = 0; k < p.groups[g].values.size() && k < n_series; ++k) {
        const double v = p.groups[g].values[k];
        if (!std::isfinite(v)) continue;
        const double yv = Y(v), yb = Y(std::max(y0, 0.0));
        s += "<rect x=\"" + fmt(gx + k * bw) + "\" y=\"" + fmt(std::min(yv, yb)) + "\" width=\"" + fmt(bw * 0.92) +
             "\" height=\"" + fmt(std::fabs(yb - yv)) + "\" fill=\"" + color(k) + "\"><title>" +
             svg_escape(p.series_names[k] + " " + p.groups[g].label + ": " + tick_label(std::round(v * 10) / 10)) +
             "</title></rect>\n";
      }
      s += text(left + g * gw + gw / 2, bottom + 15, p.groups[g].label, "middle", 11);
    }
  } else {
    std::vector<double> xt = nice_ticks(xr.lo, xr.hi);
    const double x0 = xt.front(), x1 = xt.back();
    auto X = [&](double v) { return left + (v - x0) / (x1 - x0 > 0 ? x1 - x0 : 1) * (right - left); };
    for (double t : xt) {
      s += line(X(t), bottom, X(t), bottom + 4, "#333");
      s += text(X(t), bottom + 15, tick_label(t), "middle", 10);
    }
    for (size_t k = 0; k < p.lines.size(); ++k) {
      const LineSeries& l = p.lines[k];
      std::string pts;
      size_t n = 0;
      for (size_t i = 0; i < l.x.size() && i < l.y.size(); ++i) {
        if (!std::isfinite(l.y[i]) || (p.log_y && l.y[i] <= 0)) continue;
        pts += fmt(X(l.x[i])) + "," + fmt(Y(p.log_y ? std::log10(l.y[i]) : l.y[i])) + " ";
        ++n;
      }
      if (n == 1)  // a lone point: a dot
        s += "<circle cx=\"" + pts.substr(0, pts.find(',')) + "\" cy=\"" +
             pts.substr(pts.find(',') + 1, pts.size() - pts.find(',') - 2) + "\" r=\"3\" fill=\"" + color(k) + "\"/>\n";
      else if (n > 1)
        s += "<polyline fill=\"none\" stroke=\"" + std::string(color(k)) + "\" stroke-width=\"1.6\" points=\"" + pts +
             "\"/>\n";
      if (n > 0 && n <= 40)  // few points (validations): mark them
        for (size_t i = 0; i < l.x.size() && i < l.y.size(); ++i)
          if (std::isfinite(l.y[i]) && (!p.log_y || l.y[i] > 0))
            s += "<circle cx=\"" + fmt(X(l.x[i])) + "\" cy=\"" + fmt(Y(p.log_y ? std::log10(l.y[i]) : l.y[i])) +
                 "\" r=\"2.2\" fill=\"" + color(k) + "\"/>\n";
    }
  }
  // Legend below the x label, left to right, in as many rows as the panel's width needs.
  for (size_t k = 0; k < legend.size(); ++k) {
    const double lx = placed[k].second, ly = oy + h - 12 - 13.0 * (legend_rows - 1 - placed[k].first);
    s += "<rect x=\"" + fmt(lx) + "\" y=\"" + fmt(ly - 9) + "\" width=\"10\" height=\"10\" fill=\"" + color(k) + "\"/>\n";
    s += text(lx + 14, ly, legend[k], "start", 10);
  }
  return s;
}

}  // namespace

std::string svg_escape(const std::string& t) {
  std::string o;
  for (char c : t) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::vector<double> nice_ticks(double lo, double hi) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::floor(lo / step) * step; v < hi + step * 0.999; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string svg_chart(const std::string& title, const std::vector<ChartPanel>& panels, int pw, int ph) {
  const int top = title.empty() ? 0 : 24;
  const int W = pw * static_cast<int>(std::max<size_t>(panels.size(), 1)), H = ph + top;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(W) + "\" height=\"" +
                  std::to_string(H) + "\" viewBox=\"0 0 " + std::to_string(W) + " " + std::to_string(H) +
                  "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
                  "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty()) s += text(W / 2.0, 17, title, "middle", 14, " font-weight=\"bold\"");
  for (size_t i = 0; i < panels.size(); ++i) s += panel_svg(panels[i], double(i) * pw, top, pw, ph);
  return s + "</svg>\n";
}

}  // namespace kd
