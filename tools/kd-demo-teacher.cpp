// kd-demo-teacher: trains the offline demo's small CLIP teacher contrastively on kd-demo-data output and reports its
// val retrieval against chance.
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/demo/contrastive_teacher.h"
#include "tools/option_cli.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  kd::demo::TeacherTrainOptions o;
  CLI::App app{"Train the offline demo's small CLIP teacher (symmetric InfoNCE, AdamW) on kd-demo-data output; save "
               "it as a Hugging Face folder with its vocabulary; print val R@1/5/10 against chance."};
  kd::bind_options(app, o);
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.progress = !quiet;
  return kd::run_tool("kd-demo-teacher", [&] {
    kd::demo::validate(o);
    at::set_num_threads(o.threads);  // this process's intra-op threads (decoding uses o.threads TBB workers)
    const kd::demo::TeacherTrainResult r = kd::demo::train_demo_teacher(o);
    std::printf("%s\n",
                kd::demo::format_teacher_report(r, o.min_chance_multiple > 0 ? o.min_chance_multiple : 5).c_str());
    std::printf("kd-demo-teacher: wrote %s\n", o.out_dir.c_str());
    return 0;
  });
}
