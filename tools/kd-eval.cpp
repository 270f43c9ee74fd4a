// kd-eval: zero-shot retrieval of students against the teacher over a whole val cache, and zero-shot classification
// of a class-folder image set; table, report.json, Markdown.
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "common/eval/evaluate_students.h"
#include "tools/option_cli.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  CLI::App app{"kd-eval: score students against the teacher over a whole val cache (I→T and T→I Recall@K of every "
               "image × text pairing, cosine to the teacher, retention, parameters, throughput) and, with --zeroshot, "
               "zero-shot classification top-1/top-5 of every pairing", "kd-eval"};
  kd::EvalOptions o;
  std::string out = "report.json", markdown;
  int threads = 0;
  kd::bind_options(app, o);
  app.add_option("--out", out, "report.json path")->capture_default_str();
  app.add_option("--markdown", markdown, "Markdown report path (default: --out with extension .md)");
  app.add_option("--threads", threads, "intra-op threads (0: LibTorch's default)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress lines on stderr");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  return kd::run_tool("kd-eval", [&] {
    if (threads > 0) at::set_num_threads(threads);
    o.progress = !quiet;
    const kd::EvalReport report = kd::evaluate_students(o);
    std::filesystem::path md = markdown.empty() ? std::filesystem::path(out).replace_extension(".md")
                                                : std::filesystem::path(markdown);
    kd::write_eval_report(report, out, md);
    std::cout << kd::eval_report_table(report) << "\nwrote " << out << " and " << md.string() << "\n";
    return 0;
  });
}
