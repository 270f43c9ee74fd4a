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
               "it as a Hugging Face folder with its vocabulary; print val R@1/5/10 against chance.", "kd-demo-teacher"};
  kd::bind_options(app, o);
  std::string config_file;
  app.add_option("--config", config_file,
                 "train this architecture instead of the demo teacher's (a Hugging Face CLIP config.json; "
                 "--image-size is then ignored): e.g. a student-shaped CLIP trained without a teacher");
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress lines");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  o.progress = !quiet;
  return kd::run_tool("kd-demo-teacher", [&] {
    if (!config_file.empty()) o.config = kd::read_hf_clip_config(config_file);
    kd::demo::validate(o);
    at::set_num_threads(o.threads);  // this process's intra-op threads (decoding uses o.threads TBB workers)
    const kd::demo::TeacherTrainResult r = kd::demo::train_demo_teacher(o);
    std::printf("%s\n",
                kd::demo::format_teacher_report(r, o.min_chance_multiple > 0 ? o.min_chance_multiple : 5).c_str());
    std::printf("kd-demo-teacher: wrote %s\n", o.out_dir.c_str());
    return 0;
  });
}
